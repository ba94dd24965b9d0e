// Benchmark 1: one date end to end, request to SUCCESS, beside the limit pipeline.
import { seasonOfDate } from '../../functions/pipeline/season.ts';
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import type { DocumentStore } from '../../shared/ports/store.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import type { Emulators } from '../lib/emulators.ts';
import type { Dataset } from '../source-api/dataset.ts';
import type { BenchContext } from './context.ts';
import { startLimitPipeline } from './limit-pipeline.ts';
import { startReferenceStack } from './reference-stack.ts';
import type { Result } from './report.ts';
import { percentile, ratio, timed } from './stats.ts';

/** One date's p50 at most this many times the limit pipeline's (issue 17). */
const ONE_DATE_TARGET = 1.3;

/**
 * Where a date's time goes, from its event log: dispatch (previous gate or run start to the
 * phase's first processor start), processing (first start to last completion), and fan-in
 * with the gate (last completion to gate_passed). Averages over the runs, in ms.
 */
async function breakdown(
  store: DocumentStore,
  definition: LoadedDefinition,
  runIds: readonly string[],
): Promise<Record<string, number>> {
  const sums = { dispatchMs: 0, processingMs: 0, fanInAndGateMs: 0 };
  for (const runId of runIds) {
    const events = (
      await store.query(COLLECTIONS.events, { filters: [{ field: 'runId', op: '==', value: runId }] })
    ).map((e) => e.data as { type: string; at: string; phase?: string });
    const at = (e: { at: string }) => Date.parse(e.at);
    let previous = Math.min(...events.filter((e) => e.type === 'run_started').map(at));
    for (const phase of definition.phases.map((p) => p.id)) {
      const mine = events.filter((e) => e.phase === phase);
      const started = Math.min(...mine.filter((e) => e.type === 'processor_started').map(at));
      const completed = Math.max(...mine.filter((e) => e.type === 'processor_completed').map(at));
      const gate = Math.min(...mine.filter((e) => e.type === 'gate_passed').map(at));
      sums.dispatchMs += started - previous;
      sums.processingMs += completed - started;
      sums.fanInAndGateMs += gate - completed;
      previous = gate;
    }
  }
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, Math.round(v / runIds.length)]));
}

/** Each date's request-to-done time, one date after the other. */
async function latencies(
  dates: readonly string[],
  runDate: (d: string) => Promise<unknown>,
): Promise<number[]> {
  const ms: number[] = [];
  for (const date of dates) ms.push((await timed(() => runDate(date))).ms);
  return ms;
}

const latencyFigures = (ms: readonly number[]) => ({
  runs: ms.length,
  p50Ms: Math.round(percentile(ms, 50)),
  p95Ms: Math.round(percentile(ms, 95)),
});

export async function endToEnd(
  ctx: BenchContext,
  emulators: Emulators,
  dataset: Dataset,
  definition: LoadedDefinition,
): Promise<Result> {
  const season = dataset.dates.filter((d) => seasonOfDate(d) === '2023-24').slice(0, ctx.quick ? 3 : 22);
  ctx.say(
    `1. one date end to end: ${season.length} dates of 2023-24 in order, phasegate then the limit pipeline`,
  );
  const ref = await startReferenceStack(ctx, emulators, dataset, 'e2e');
  let ours: number[];
  let where: Record<string, number>;
  try {
    const runIds: string[] = [];
    ours = await latencies(season, async (d) => runIds.push(await ref.runDate(d)));
    where = await breakdown(ref.store, definition, runIds);
  } finally {
    await ref.stop();
  }
  const limit = await startLimitPipeline(definition, emulators, ctx.project('e2e-limit'), ctx.logDir);
  const base = await latencies(season, (d) => limit.runDate(d)).finally(() => limit.stop());
  const figures = { ...latencyFigures(ours), ...where };
  const baseFigures = latencyFigures(base);
  const r = ratio(figures.p50Ms, baseFigures.p50Ms);
  return {
    id: 1,
    name: 'one game date, request to SUCCESS',
    figures,
    baseline: { name: 'limit pipeline (no-op functions, same topology)', figures: baseFigures },
    ratio: r,
    headline: 'p50 latency',
    // Issue 17's target.
    target: `at most ${ONE_DATE_TARGET}x`,
    met: r <= ONE_DATE_TARGET,
  };
}
