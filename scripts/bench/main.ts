// `npm run bench`: phasegate's figures, each beside a baseline measured in the same run on the
// same emulators. Prints a table and writes JSON (BENCHMARKS.md records a run).
import { join } from 'node:path';
import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { defaultPorts, startEmulators } from '../lib/emulators.ts';
import { repoRoot } from '../lib/local-pipeline.ts';
import { loadCsvDataset } from '../source-api/dataset.ts';
import { autoRetryTick } from './auto-retry-tick.ts';
import { backfillRealDates, backfillSyntheticSeason } from './backfill-all.ts';
import { createBenchContext, parseBenchOptions } from './context.ts';
import { costPerPartition } from './cost-per-partition.ts';
import { costModelText } from './cost-report.ts';
import { endToEnd } from './end-to-end.ts';
import { largeHistory } from './large-history.ts';
import { npmStartToDemo } from './npm-start.ts';
import { describeMachine, resultsTable, writeResults, type Result } from './report.ts';
import { runtimeOverhead } from './runtime-overhead.ts';

async function main(): Promise<void> {
  const options = parseBenchOptions();
  const ctx = createBenchContext(options);
  const wanted = (id: number) => !options.only || options.only.includes(id);
  const machine = describeMachine();
  ctx.say(
    `phasegate bench${ctx.quick ? ' (quick: smoke sizes, not figures to record)' : ''} on ${machine.cpus} x ` +
      `${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}`,
  );
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  // Throughput is measured: the emulators' optimising compiler pays back here.
  const emulators = await startEmulators({
    logDir: ctx.logDir,
    preferredPorts: defaultPorts(join(repoRoot, 'firebase.json')),
    jit: 'full',
  });
  const results: Result[] = [];
  try {
    const dataset = loadCsvDataset();
    const definition = referenceDefinition;
    // Benchmark 4 is the limit pipeline: the baseline of 1, 2 and 6, not a run of its own.
    const benchmarks: [number, () => Promise<Result>][] = [
      [1, () => endToEnd(ctx, emulators, dataset, definition)],
      [2, () => backfillRealDates(ctx, emulators, dataset, definition)],
      [3, () => runtimeOverhead(ctx, emulators)],
      [5, () => autoRetryTick(ctx, emulators)],
      [6, () => backfillSyntheticSeason(ctx, emulators, dataset, definition)],
      [7, () => costPerPartition(ctx, emulators, dataset, definition)],
      [8, () => largeHistory(ctx, emulators)],
      [9, () => npmStartToDemo(ctx)],
    ];
    for (const [id, run] of benchmarks) if (wanted(id)) results.push(await run());
  } finally {
    await emulators.stop();
  }
  ctx.say('');
  ctx.say(resultsTable(results));
  const costs = costModelText(results);
  if (costs) ctx.say(`\n${costs}`);
  writeResults(options.out, { quick: ctx.quick, machine, results });
  ctx.say(`\nwrote ${options.out}`);
}

await main();
