// Benchmark 7: what one partition costs. Real dates of the reference pipeline run with the cost
// meter on in every function (PHASEGATE_COST_METER); the counts of every process, divided by the
// number of dates, are priced at Google's list prices (shared/cost/prices.ts). Beside them, the
// baseline of the writes: the data documents the dates' processors wrote.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seasonOfDate } from '../../functions/pipeline/season.ts';
import { COST_METER_ENV, readCostMeterFiles } from '../../shared/adapters/cost-meter-file.ts';
import { costOfPartitions } from '../../shared/cost/cost-model.ts';
import {
  divideCounts,
  firestoreTotals,
  invocationTotals,
  subtractCounts,
  type CostCounts,
} from '../../shared/cost/counts.ts';
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { planResources } from '../../infra/plan.ts';
import type { Emulators } from '../lib/emulators.ts';
import type { Dataset } from '../source-api/dataset.ts';
import type { BenchContext } from './context.ts';
import { startReferenceStack } from './reference-stack.ts';
import type { Result } from './report.ts';
import { ratio } from './stats.ts';

const PRICED_PARTITIONS = 1000;
/** The target: Firestore writes per date at most this many times the data documents. */
const WRITE_TARGET = 1.5;

/** The counts of every process once they have stopped changing (a date's last writes land after its SUCCESS). */
async function settledCounts(dir: string, quietMs = 2500, timeoutMs = 60_000): Promise<CostCounts> {
  const deadline = Date.now() + timeoutMs;
  let last = JSON.stringify(readCostMeterFiles(dir).total);
  let quietSince = Date.now();
  while (Date.now() - quietSince < quietMs) {
    if (Date.now() > deadline)
      throw new Error(`the cost meter's counts in ${dir} kept changing for ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
    const now = JSON.stringify(readCostMeterFiles(dir).total);
    if (now !== last) [last, quietSince] = [now, Date.now()];
  }
  return readCostMeterFiles(dir).total;
}

interface Measured {
  warmUp: string;
  dates: string[];
  perDate: CostCounts;
  dataCollections: string[];
  dataDocumentsPerDate: number;
  processes: number;
}

/**
 * A season's first dates in order: a later date needs the earlier ones, and the orchestrator would
 * run those itself (their cost would be counted as this date's). The first warms every function (a
 * cold start loads the SDKs: once an instance, not once a partition) and is left out.
 */
async function measure(
  ctx: BenchContext,
  emulators: Emulators,
  dataset: Dataset,
  definition: LoadedDefinition,
): Promise<Measured> {
  const season = dataset.dates.filter((d) => seasonOfDate(d) === '2023-24').slice(0, ctx.quick ? 3 : 11);
  const [warmUp, ...dates] = season;
  if (!warmUp || dates.length === 0) throw new Error('benchmark 7 needs at least two dates of 2023-24');
  ctx.say(
    `7. cost per partition: ${dates.length} dates of 2023-24 in order after ${warmUp} (warm-up, left out), ` +
      'with the cost meter on',
  );
  const dataCollections = [
    ...new Set(
      definition.phases.flatMap((p) => p.processors.flatMap((pr) => pr.outputs.map((o) => o.collection))),
    ),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'phasegate-cost-'));
  try {
    const ref = await startReferenceStack(ctx, emulators, dataset, 'cost', {
      functionEnv: { [COST_METER_ENV]: dir },
    });
    const documents = async () => {
      let n = 0;
      for (const c of dataCollections) n += await ref.store.countWhere(c, []);
      return n;
    };
    let warm: CostCounts;
    let dataDocuments: number;
    try {
      await ref.runDate(warmUp);
      warm = await settledCounts(dir);
      const warmDocuments = await documents();
      for (const date of dates) await ref.runDate(date);
      await settledCounts(dir);
      dataDocuments = (await documents()) - warmDocuments;
    } finally {
      // SIGTERM: every function writes its final counts as it exits.
      await ref.stop();
    }
    const { files, total } = readCostMeterFiles(dir);
    const perDate = divideCounts(subtractCounts(total, warm), dates.length);
    const writes = firestoreTotals(perDate);
    if (writes.writes === 0 || firestoreTotals(perDate, dataCollections).writes === 0)
      throw new Error(
        `the cost meter counted ${writes.writes} writes in ${files.length} file(s) of ${dir}, none of data: ` +
          `are the functions given ${COST_METER_ENV}?`,
      );
    const dataDocumentsPerDate = dataDocuments / dates.length;
    return { warmUp, dates, perDate, dataCollections, dataDocumentsPerDate, processes: files.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const tenth = (n: number) => Math.round(n * 10) / 10;

export async function costPerPartition(
  ctx: BenchContext,
  emulators: Emulators,
  dataset: Dataset,
  definition: LoadedDefinition,
): Promise<Result> {
  const { warmUp, dates, perDate, dataCollections, dataDocumentsPerDate, processes } = await measure(
    ctx,
    emulators,
    dataset,
    definition,
  );
  const memory = new Map(planResources(definition).functions.map((f) => [f.name, f.memoryMb]));
  const estimate = costOfPartitions(perDate, {
    partitions: PRICED_PARTITIONS,
    memoryMbOf: (fn) => {
      const mb = memory.get(fn);
      if (mb === undefined) throw new Error(`function ${fn} was invoked but is not in the definition's plan`);
      return mb;
    },
  });
  const ops = firestoreTotals(perDate);
  const dataWrites = firestoreTotals(perDate, dataCollections).writes;
  const r = ratio(ops.writes, dataWrites);
  return {
    id: 7,
    name: `cost per partition: ${dates.length} real dates of 2023-24, every Firestore and Pub/Sub call counted`,
    figures: {
      dates: dates.length,
      readsPerDate: tenth(ops.reads),
      writesPerDate: tenth(ops.writes),
      deletesPerDate: tenth(ops.deletes),
      publishesPerDate: tenth(perDate.publishes.requests),
      deliveriesPerDate: tenth(perDate.deliveries.requests),
      invocationsPerDate: tenth(invocationTotals(perDate).count),
      usdPer1000Dates: Math.round(estimate.totalUsd * 1000) / 1000,
    },
    baseline: {
      name: "data documents: the dates' processors' writes to the domain collections",
      figures: { dataWritesPerDate: tenth(dataWrites), dataDocumentsPerDate: tenth(dataDocumentsPerDate) },
    },
    ratio: r,
    headline: 'Firestore writes per date vs data documents',
    target: `at most ${WRITE_TARGET}x`,
    met: r <= WRITE_TARGET,
    cost: {
      partitionsMeasured: dates.length,
      perPartition: perDate,
      estimate,
      notes: [
        `${processes} function processes reported (a file each, written as each exited); the counts of ` +
          `${warmUp}, run first to warm every function, are left out`,
        'handler seconds are measured on the emulators, on this machine: an estimate of Cloud Run time',
        "the run request's own publish (Cloud Scheduler's or the CLI's) is outside the functions and not counted",
        'deletes are those the functions made during the dates: TTL policies delete the bookkeeping later, ' +
          'billed as deletes, and are not counted here',
        `data documents per date: the documents the dates added to ${dataCollections.length} domain collections ` +
          '(a rewritten document counts once there, every time in the writes)',
      ],
    },
  };
}
