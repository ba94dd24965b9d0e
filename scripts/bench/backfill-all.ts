// Benchmarks 2 and 6: a backfill of many dates, every season chain in parallel, beside the limit.
import { seasonOfDate } from '../../functions/pipeline/season.ts';
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import type { Emulators } from '../lib/emulators.ts';
import type { Dataset } from '../source-api/dataset.ts';
import { syntheticDataset } from '../source-api/synthetic.ts';
import type { BenchContext } from './context.ts';
import { startLimitPipeline } from './limit-pipeline.ts';
import { startReferenceStack } from './reference-stack.ts';
import type { Result } from './report.ts';
import { ratio, runChains, timed } from './stats.ts';

/** The dates of each season in date order: a later date of a season needs the earlier ones. */
function seasonChains(dates: readonly string[]): string[][] {
  const chains = new Map<string, string[]>();
  for (const d of [...dates].sort()) chains.set(seasonOfDate(d), [...(chains.get(seasonOfDate(d)) ?? []), d]);
  return [...chains.values()];
}

interface Backfill {
  id: number;
  name: string;
  dataset: Dataset;
  dates: string[];
  /** Names the projects of the two pipelines. */
  label: string;
  /** At most this many times the limit's wall time. */
  target?: number;
}

async function backfillAll(
  ctx: BenchContext,
  emulators: Emulators,
  definition: LoadedDefinition,
  { id, name, dataset, dates, label, target }: Backfill,
): Promise<Result> {
  const chains = seasonChains(dates);
  ctx.say(
    `${id}. ${name}: ${dates.length} dates in ${chains.length} season chain(s), all chains in parallel; ` +
      'phasegate then the limit pipeline',
  );
  let done = 0;
  const progress = () => {
    done += 1;
    if (done % 50 === 0) ctx.say(`   ${done}/${dates.length}`);
  };
  const ref = await startReferenceStack(ctx, emulators, dataset, label);
  const ours = await timed(() => runChains(chains, chains.length, (d) => ref.runDate(d), progress)).finally(
    () => ref.stop(),
  );
  done = 0;
  const limit = await startLimitPipeline(definition, emulators, ctx.project(`${label}-limit`), ctx.logDir);
  const base = await timed(() => runChains(chains, chains.length, (d) => limit.runDate(d), progress)).finally(
    () => limit.stop(),
  );
  const figures = (ms: number) => ({
    dates: dates.length,
    wallSeconds: Math.round(ms / 100) / 10,
    datesPerMinute: Math.round((dates.length / (ms / 60_000)) * 10) / 10,
  });
  const r = ratio(ours.ms, base.ms);
  return {
    id,
    name,
    figures: figures(ours.ms),
    baseline: {
      name: '(4) the limit: no-op pipeline, same topology, same dates and order',
      figures: figures(base.ms),
    },
    ratio: r,
    headline: 'wall time',
    ...(target ? { target: `within ${target}x of the limit`, met: r <= target } : {}),
  };
}

/** Benchmark 2: every real game date (quick: four dates of three seasons). */
export function backfillRealDates(
  ctx: BenchContext,
  emulators: Emulators,
  dataset: Dataset,
  definition: LoadedDefinition,
): Promise<Result> {
  const dates = ctx.quick
    ? seasonChains(dataset.dates)
        .slice(0, 3)
        .flatMap((c) => c.slice(0, 4))
    : dataset.dates;
  return backfillAll(ctx, emulators, definition, {
    id: 2,
    name: `backfill of ${ctx.quick ? 'a sample of' : 'all'} ${dates.length} real game dates`,
    dataset,
    dates,
    label: 'backfill',
    // Issue 17's target.
    target: 4,
  });
}

/** Benchmark 6: a synthetic full regular season (quick: 40 games). */
export function backfillSyntheticSeason(
  ctx: BenchContext,
  emulators: Emulators,
  dataset: Dataset,
  definition: LoadedDefinition,
): Promise<Result> {
  const synthetic = syntheticDataset({
    seed: 42,
    headers: dataset.headers,
    ...(ctx.quick ? { games: 40 } : {}),
  });
  const games = synthetic.dates.reduce((n, d) => n + synthetic.scheduleOn(d).length, 0);
  return backfillAll(ctx, emulators, definition, {
    id: 6,
    name: `synthetic full season: ${games} games on ${synthetic.dates.length} dates`,
    dataset: synthetic,
    dates: synthetic.dates,
    label: 'synthetic',
  });
}
