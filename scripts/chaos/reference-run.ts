import { snapshotCollections, type Snapshot } from '../lib/chaos-compare.ts';
import { outputCollections } from './comparison.ts';
import type { ChaosContext } from './context.ts';
import { runDates, startPipeline, type SoakSetup } from './pipeline.ts';

/** The dates without faults: every one must succeed, and its domain data is what the chaos run must match. */
export async function referenceRun(ctx: ChaosContext, setup: SoakSetup): Promise<Snapshot> {
  ctx.say('\nreference run (no faults)');
  const reference = await startPipeline(ctx, {
    emulators: setup.emulators,
    dataset: setup.dataset,
    sourcePort: setup.sourcePort,
    definition: setup.definition,
    label: 'reference',
    functionEnv: () => ({}),
    sourceFaults: [],
  });
  try {
    const { statuses } = await runDates(ctx, reference, setup.dates);
    const bad = [...statuses].filter(([, s]) => s !== 'SUCCESS');
    if (bad.length)
      throw new Error(
        `the fault-free reference run did not succeed: ${bad.map(([d, s]) => `${d} ${s}`).join(', ')}`,
      );
    return await snapshotCollections(reference.db, outputCollections(setup.definition));
  } finally {
    await reference.stop();
  }
}
