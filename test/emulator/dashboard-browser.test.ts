import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS } from '../../scripts/lib/chromium.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { TOPICS } from '../../shared/messages/messages.ts';
import { CONTROL_ID } from '../../shared/orchestration/pause-state.ts';
import { startReferenceHarness, type ReferenceHarness } from '../support/reference-harness.ts';
import { runCli } from '../support/cli.ts';

let h: ReferenceHarness;
let browser: Browser;
beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium not found at ${CHROMIUM}: apt-get install chromium (npm test's pretest does it as root)`,
    );
  h = await startReferenceHarness('dashboard');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
});
afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

/** The one browser global the test calls in the page (the test is compiled without the DOM types). */
interface BrowserWindow {
  getComputedStyle(element: unknown): { fill: string };
}

/** A state's colour, as page-style.ts draws it (the test sees what a person sees). */
const FILL = {
  succeeded: 'rgb(46, 125, 50)',
  failed: 'rgb(198, 40, 40)',
} as const;

describe('dashboard in Chromium', () => {
  it('shows a run reaching SUCCESS live in the runs, the grid, its waterfall and the charts; a fault, its recovery', async () => {
    const url = `${h.stack.functions.get('dashboard')!.url}/`;
    const page = await browser.newPage();
    await page.goto(url);
    await page.getByText('no runs yet').waitFor();
    const cell = (partition: string, phase: string) =>
      page.locator(`#grid rect[data-partition="${partition}"][data-phase="${phase}"]`);
    /** The state of a processor's latest bar in the open run's waterfall. */
    const lastBarOf = (processor: string) =>
      page
        .locator(`svg[data-testid="waterfall"] rect.bar[data-processor="${processor}"]`)
        .last()
        .getAttribute('data-state');
    const fill = (partition: string, phase: string) =>
      cell(partition, phase).evaluate(
        (e) => (globalThis as unknown as BrowserWindow).getComputedStyle(e).fill,
      );

    await h.publishJson(TOPICS.runRequests, { partition: '2019-04-13', triggerSource: 'manual' });
    const status = page.getByTestId('run-status').first();
    await status.waitFor();
    // Seen without reloading: the page polls and re-renders in place.
    await expect.poll(() => status.textContent(), { timeout: 60_000 }).toBe('SUCCESS');
    await expect.poll(() => page.locator('.phase.SUCCEEDED').count()).toBe(5);
    expect(await page.locator('tr.run').first().locator('[data-phase="raw"]').textContent()).toBe('raw 2/2');
    await expect
      .poll(() => page.locator('#grid rect[data-partition="2019-04-13"][data-state="succeeded"]').count())
      .toBe(5);
    expect(await fill('2019-04-13', 'predict')).toBe(FILL.succeeded);

    // A click on a cell opens the run: its waterfall, a bar per attempt and a marker per gate.
    await cell('2019-04-13', 'scrape').click();
    await page.getByText('Timeline of').waitFor();
    expect(await page.locator('#timeline').textContent()).toContain('gate_passed');
    const bars = page.locator('svg[data-testid="waterfall"] rect.bar');
    await expect
      .poll(() => page.locator('svg[data-testid="waterfall"] rect.bar.succeeded').count())
      .toBeGreaterThanOrEqual(9);
    const widths = await Promise.all((await bars.all()).map((b) => b.getAttribute('width')));
    expect(widths.every((w) => Number(w) >= 2)).toBe(true);
    expect(await page.locator('svg[data-testid="waterfall"] line[data-kind="gate_passed"]').count()).toBe(5);
    expect(await page.getByTestId('slowest').textContent()).toMatch(
      /^slowest step: \w+ \/ [\w-]+ attempt 1, \d+\.\d s$/,
    );
    await expect.poll(() => page.locator('svg[data-chart="phase-raw"] rect').count()).toBeGreaterThan(0);
    expect(await page.locator('svg[data-chart="failures"] rect').count()).toBe(0);
    await page.screenshot({ path: join(inject('logDir'), 'dashboard-run.png'), fullPage: true });

    // A fault: the source answers malformed box scores for 2019-04-14, a failure for good.
    h.source.faults.add({ endpoint: 'boxscores', kind: 'malformed', dates: ['2019-04-14'] });
    await h.publishJson(TOPICS.runRequests, { partition: '2019-04-14', triggerSource: 'manual' });
    await expect
      .poll(() => cell('2019-04-14', 'scrape').getAttribute('data-state'), { timeout: 60_000 })
      .toBe('failed');
    expect(await fill('2019-04-14', 'scrape')).toBe(FILL.failed);
    expect(await cell('2019-04-14', 'predict').getAttribute('data-state')).toBe('not_run');
    const entry = (
      await h.store.query(COLLECTIONS.queue, {
        filters: [{ field: 'partition', op: '==', value: '2019-04-14' }],
      })
    )[0]!;
    const row = page.locator(`tr[data-entry="${entry.id}"]`);
    await expect
      .poll(() => row.getByTestId('entry-action').textContent(), { timeout: 10_000 })
      .toBe('NEEDS MANUAL FIX');
    await cell('2019-04-14', 'scrape').click();
    await expect.poll(() => lastBarOf('scrape-boxscores')).toBe('failed');
    await expect
      .poll(() =>
        page
          .locator('svg[data-chart="failures"] rect[data-series="scrape-boxscores"]')
          .last()
          .getAttribute('data-value'),
      )
      .toBe('1');
    await page.screenshot({ path: join(inject('logDir'), 'dashboard-fault.png'), fullPage: true });

    // Recovered: the source is fixed, an operator retries from the page; the run goes on to SUCCESS.
    h.source.faults.clear();
    await row.locator('input.note').fill('source fixed the feed');
    await row.getByRole('button', { name: 'retry' }).click();
    await expect
      .poll(async () => (await h.store.get(COLLECTIONS.queue, entry.id))?.status, { timeout: 30_000 })
      .toBe('succeeded');
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0);
    await expect
      .poll(() => page.locator('#grid rect[data-partition="2019-04-14"][data-state="succeeded"]').count(), {
        timeout: 60_000,
      })
      .toBe(5);
    await expect.poll(() => lastBarOf('scrape-boxscores')).toBe('succeeded');
    await page.screenshot({ path: join(inject('logDir'), 'dashboard-recovered.png'), fullPage: true });
  });

  it('pauses the pipeline from the page: a run request is held and shown; the resume releases it to SUCCESS', async () => {
    const page = await browser.newPage();
    await page.goto(`${h.stack.functions.get('dashboard')!.url}/`);
    const controls = page.getByTestId('controls');
    // No note, no pause: the page says so (an alert, dismissed) and nothing is written.
    const alerted = new Promise<string>((said) =>
      page.once('dialog', (dialog) => {
        said(dialog.message());
        void dialog.dismiss();
      }),
    );
    await controls.getByRole('button', { name: 'pause the pipeline' }).click();
    expect(await alerted).toBe('Write a note saying why.');
    expect((await h.store.get(COLLECTIONS.control, CONTROL_ID))?.paused ?? false).toBe(false);
    await page.getByTestId('control-note').fill('nightly load paused for a schema change');
    await controls.getByRole('button', { name: 'pause the pipeline' }).click();
    await expect
      .poll(() => page.getByTestId('paused').textContent(), { timeout: 10_000 })
      .toMatch(/^PAUSED since .+ by dashboard.*: nightly load paused for a schema change/);
    await h.publishJson(TOPICS.runRequests, { partition: '2019-04-15', triggerSource: 'manual' });
    await expect
      .poll(() => page.getByTestId('paused').textContent(), { timeout: 30_000 })
      .toContain('held: 1 run request(s)');
    await page.getByTestId('control-note').fill('schema change done');
    await controls.getByRole('button', { name: 'resume the pipeline' }).click();
    await expect.poll(() => page.getByTestId('paused').textContent(), { timeout: 10_000 }).toBe('');
    await expect
      .poll(() => page.locator('#grid rect[data-partition="2019-04-15"][data-state="succeeded"]').count(), {
        timeout: 60_000,
      })
      .toBe(5);
  });

  it('shows a backfill the command runs: its bar, done of total and ETA while it runs, finished at the end', async () => {
    const page = await browser.newPage();
    await page.goto(`${h.stack.functions.get('dashboard')!.url}/`);
    const env = {
      ...inject('emulatorEnv'),
      GOOGLE_CLOUD_PROJECT: h.stack.projectId,
      SOURCE_API_URL: h.source.url,
      METADATA_SERVER_DETECTION: 'none',
    };
    const done = runCli(
      ['backfill', '--from', '2019-04-20', '--to', '2019-04-21', '--concurrency', '1'],
      env,
    );
    const panel = page.locator('[data-backfill="2019-04-20_2019-04-21"]');
    // While it runs: the figures of its progress bar (the command's own, from backfills/{from}_{to}).
    await expect
      .poll(() => panel.getByTestId('backfill-line').textContent(), { timeout: 60_000 })
      .toMatch(/^[01]\/2 partitions · 0 failed · ETA /);
    const result = await done;
    expect(result.code, result.stderr).toBe(0);
    await expect
      .poll(() => panel.getByTestId('backfill-line').textContent(), { timeout: 30_000 })
      .toMatch(/^2\/2 partitions · 0 failed · finished · last: 2019-04-21 SUCCESS$/);
    expect(await panel.locator('.progress .done').getAttribute('style')).toBe('width:100%');
    expect(await panel.locator('.status').textContent()).toBe('finished');
  });

  it('discards queue entries in bulk from the page: a preview counts them, a confirmed action closes each', async () => {
    for (const day of ['2018-01-01', '2018-01-02', '2018-02-01'])
      await h.store.set(COLLECTIONS.queue, `bulk-${day}`, {
        requestId: `bulk-${day}`,
        status: 'failed_permanent',
        errorType: 'permanent',
        errorReason: 'validation',
        lastError: `test message of ${day}`,
        needsManualFix: true,
        runId: `bulk-run-${day}`,
        partition: day,
        phase: 'raw',
        processor: 'normalize-games',
        request: null,
        failureEventId: `bulk-${day}--failed`,
        firstFailedAt: `${day}T10:00:00.000Z`,
        retryCount: 0,
        nextRetryAt: null,
        deadlineAt: null,
      });
    const page = await browser.newPage();
    await page.goto(`${h.stack.functions.get('dashboard')!.url}/`);
    const bulk = page.getByTestId('bulk');
    await bulk.locator('#bulk-status').selectOption('failed_permanent');
    await bulk.locator('#bulk-from').fill('2018-01-01');
    await bulk.locator('#bulk-to').fill('2018-01-31');
    await bulk.getByRole('button', { name: 'preview a retry' }).click();
    await expect
      .poll(() => page.getByTestId('bulk-result').textContent(), { timeout: 10_000 })
      .toMatch(
        /^2 entries match for retry; the first 2: bulk-2018-01-01 \(failed_permanent\), bulk-2018-01-02/,
      );
    await bulk.locator('#bulk-note').fill('test messages, nothing to recover');
    const asked = new Promise<string>((said) =>
      page.once('dialog', (dialog) => {
        said(dialog.message());
        void dialog.accept();
      }),
    );
    await bulk.getByRole('button', { name: 'discard all' }).click();
    expect(await asked).toBe('discard 2 entries?');
    await expect
      .poll(() => page.getByTestId('bulk-result').textContent(), { timeout: 10_000 })
      .toBe('discard: 2 done');
    expect(await h.store.get(COLLECTIONS.queue, 'bulk-2018-01-01')).toMatchObject({
      status: 'discarded',
      note: 'test messages, nothing to recover',
    });
    expect(await h.store.get(COLLECTIONS.queue, 'bulk-2018-02-01')).toMatchObject({
      status: 'failed_permanent',
    });
  });
});
