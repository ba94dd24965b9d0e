// `npm run chaos -- --dates N --seed S`: a backfill of N real dates while faults are injected at
// random (reproducible from the seed), then every domain collection compared with a fault-free
// run of the same dates. Exits 1 on any loss, duplicate or difference, or an unexplained run.
import { join } from 'node:path';
import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { defaultPorts, startEmulators } from '../lib/emulators.ts';
import { repoRoot } from '../lib/local-pipeline.ts';
import { freePort } from '../lib/ports.ts';
import { loadCsvDataset } from '../source-api/dataset.ts';
import { createChaosContext } from './context.ts';
import { drawFaults, pickDates } from './fault-plan.ts';
import { faultyRun } from './faulty-run.ts';
import { parseChaosOptions } from './options.ts';
import { referenceRun } from './reference-run.ts';

/** 0: nothing lost; 1: something lost, changed or unexplained; 2: the soak itself broke. */
async function main(): Promise<number> {
  const ctx = createChaosContext(parseChaosOptions());
  const sourcePort = await freePort();
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const dataset = loadCsvDataset();
  const definition = referenceDefinition;
  const dates = pickDates(dataset, ctx.options.dates, ctx.random);
  ctx.say(`chaos soak: ${dates.length} dates (${dates[0]} .. ${dates.at(-1)}), seed ${ctx.options.seed}`);
  const plan = drawFaults(ctx, definition, dates);
  const emulators = await startEmulators({
    logDir: ctx.logDir,
    preferredPorts: defaultPorts(join(repoRoot, 'firebase.json')),
  });
  try {
    const setup = { emulators, dataset, sourcePort, definition, dates };
    const reference = await referenceRun(ctx, setup);
    return (await faultyRun(ctx, { ...setup, plan, reference })) ? 1 : 0;
  } catch (error) {
    process.stderr.write(
      `chaos: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 2;
  } finally {
    await emulators.stop();
  }
}

process.exit(await main());
