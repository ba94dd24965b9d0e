import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { TOPICS } from '../../shared/messages/messages.ts';
import {
  processorRequest,
  startReferenceHarness,
  type ReferenceHarness,
} from '../support/reference-harness.ts';

const CHROMIUM = process.env.PHASEGATE_CHROMIUM ?? '/usr/bin/chromium';

let h: ReferenceHarness;
let browser: Browser;
beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium not found at ${CHROMIUM}: apt-get install chromium (npm test's pretest does it as root)`,
    );
  h = await startReferenceHarness('dashboard');
  // Flags from this machine's notes: no background networking (the network is closed), no sandbox as root.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

describe('dashboard in Chromium', () => {
  it('shows a run progressing to SUCCESS live, and a queue entry changing when retry is clicked', async () => {
    const url = `${h.stack.functions.get('dashboard')!.url}/`;
    const page = await browser.newPage();
    await page.goto(url);
    await page.getByText('no runs yet').waitFor();

    await h.publishJson(TOPICS.runRequests, { partition: '2019-04-13', triggerSource: 'manual' });
    const status = page.getByTestId('run-status').first();
    await status.waitFor();
    // Seen without reloading: the page polls and re-renders in place.
    await expect.poll(() => status.textContent(), { timeout: 60_000 }).toBe('SUCCESS');
    await expect.poll(() => page.locator('.phase.SUCCEEDED').count()).toBe(5);
    expect(await page.locator('tr.run').first().locator('[data-phase="raw"]').textContent()).toBe('raw 2/2');
    await page.locator('tr.run').first().click();
    await page.getByText('Timeline of').waitFor();
    expect(await page.locator('#timeline').textContent()).toContain('gate_passed');
    await page.screenshot({ path: `${h.stack.projectId}-run.png`.replace(/^/, '/tmp/'), fullPage: true });

    // A processor that failed for good (its source payload was malformed), shown as NEEDS MANUAL FIX.
    const failed = processorRequest('manual-fix-run', 'scrape', 'scrape-boxscores', '2019-04-14');
    await h.store.set(COLLECTIONS.queue, failed.requestId, {
      requestId: failed.requestId,
      status: 'failed_permanent',
      errorType: 'permanent',
      errorReason: 'validation',
      lastError: 'malformed payload',
      needsManualFix: true,
      runId: failed.runId,
      partition: failed.partition,
      phase: 'scrape',
      processor: 'scrape-boxscores',
      request: failed,
      failureEventId: 'x',
      firstFailedAt: new Date().toISOString(),
      retryCount: 0,
      nextRetryAt: null,
      deadlineAt: null,
    });
    const row = page.locator(`tr[data-entry="${failed.requestId}"]`);
    await expect
      .poll(() => row.getByTestId('entry-action').textContent(), { timeout: 10_000 })
      .toBe('NEEDS MANUAL FIX');
    await row.locator('input.note').fill('source fixed the feed');
    await row.getByRole('button', { name: 'retry' }).click();
    // The retry runs the processor for real; the entry leaves NEEDS MANUAL FIX and ends succeeded.
    await expect
      .poll(async () => (await h.store.get(COLLECTIONS.queue, failed.requestId))?.status, { timeout: 30_000 })
      .toBe('succeeded');
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0);
    await page.screenshot({ path: '/tmp/phasegate-dashboard-after-retry.png', fullPage: true });
  });
});
