// `npm run screenshots`: README's dashboard pictures, made from a real local pipeline. Starts the
// reference pipeline on the emulators (as `npm start` does, under its own project id), runs one date
// that succeeds and one whose box scores the source answers malformed (a failure for good), samples
// the health gauges with a reconcile tick, backfills two more dates, and photographs the dashboard in
// Debian's Chromium into docs/screenshots/. Stops everything it started, also on failure.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { TOPICS } from '../shared/messages/messages.ts';
import { CHROMIUM, CHROMIUM_FLAGS, ensureChromium } from './lib/chromium.ts';
import { backfill } from './lib/backfill.ts';
import { startLocalPipeline, repoRoot, type LocalPipeline } from './lib/local-pipeline.ts';
import { findProject, loadPipeline } from './lib/pipeline-module.ts';

const OUT = join(repoRoot, 'docs', 'screenshots');
const say = (line: string) => process.stdout.write(`${line}\n`);

async function photograph(pipeline: LocalPipeline): Promise<void> {
  const dashboard = pipeline.stack.functions.get('dashboard');
  if (!dashboard) throw new Error('the pipeline has no dashboard function');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${dashboard.url}/`);
    const failed = page.locator('#grid rect[data-state="failed"]').first();
    await failed.waitFor({ timeout: 60_000 });
    await failed.click();
    await page.locator('svg[data-testid="waterfall"] rect.bar.failed').first().waitFor();
    await page.locator('svg[data-chart="queue-depth"] rect').first().waitFor({ timeout: 30_000 });
    await page.locator('#backfills .backfill.finished').waitFor({ timeout: 30_000 });
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, 'dashboard.png'), fullPage: true });
    await page.locator('#grid').screenshot({ path: join(OUT, 'partition-grid.png') });
    await page.locator('#waterfall').screenshot({ path: join(OUT, 'run-waterfall.png') });
    await page.locator('#health').screenshot({ path: join(OUT, 'health-charts.png') });
    await page.locator('#backfills').screenshot({ path: join(OUT, 'backfills.png') });
  } finally {
    await browser.close();
  }
}

async function main(): Promise<void> {
  ensureChromium();
  const loaded = await loadPipeline(findProject(repoRoot), 'reference');
  say('starting the reference pipeline on the emulators (project phasegate-screenshots)...');
  const pipeline = await startLocalPipeline({
    loaded,
    projectId: 'phasegate-screenshots',
    scheduler: false,
    stackFile: false,
  });
  try {
    const source = pipeline.services?.env.SOURCE_API_URL;
    if (!source) throw new Error('the reference pipeline started no source API');
    const ok = await pipeline.run({ partition: '2019-04-13', triggerSource: 'manual' });
    say(`2019-04-13: ${ok?.status ?? 'no run'}`);
    const fault = await fetch(`${source}/admin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ endpoint: 'boxscores', kind: 'malformed', dates: ['2019-04-14'] }]),
    });
    if (!fault.ok) throw new Error(`the source API refused the fault: ${fault.status} ${await fault.text()}`);
    const bad = await pipeline.run({ partition: '2019-04-14', triggerSource: 'manual' });
    say(`2019-04-14 (malformed box scores): ${bad?.status ?? 'no run'}`);
    // One reconcile tick, as the scheduler sends it: it samples the day's queue depth and control-dlq.
    const { createPubSubPublisher } = await import('../shared/adapters/pubsub-publisher.ts');
    const publisher = createPubSubPublisher(pipeline.stack.pubsub);
    await publisher.publish(TOPICS.reconcileTicks, {});
    // A backfill of two more dates, as `phasegate backfill` runs it: the Backfills panel shows it.
    // (Its resume file is this run's: the emulators start empty each time.)
    const stateFile = join(repoRoot, '.phasegate', 'screenshots-backfill.json');
    rmSync(stateFile, { force: true });
    const backfilled = await backfill(pipeline.store, publisher, {
      dates: ['2018-04-14', '2018-04-15'],
      concurrency: 1,
      dependencyKey: () => 'one season',
      stateFile,
    });
    say(
      `backfill of 2018-04-14..15 (another season: this one's later dates wait for the failed 2019-04-14): ` +
        `${backfilled.succeeded.length} succeeded, ${backfilled.failed.length} failed`,
    );
    await photograph(pipeline);
    say(`screenshots in ${OUT}`);
  } finally {
    await pipeline.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`npm run screenshots: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
