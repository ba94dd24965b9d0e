// The faults of a soak, all drawn from the seed before anything runs (the kills and the logic
// faults draw theirs later, in a fixed order: see run-faults.ts and logic-faults.ts).
import { InvalidArgumentError } from 'commander';
import { seasonOfDate } from '../../functions/pipeline/season.ts';
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { ORCHESTRATOR_ENTRY_POINTS, phaseEntryPoint } from '../../shared/entry-points.ts';
import type { FaultSpec } from '../../shared/runtime/faults.ts';
import type { SeededRandom } from '../lib/seeded.ts';
import type { Dataset } from '../source-api/dataset.ts';
import type { FaultRuleInput } from '../source-api/faults.ts';
import type { ChaosContext } from './context.ts';
import { SLOW_HANDLER_MS, SOURCE_TIMEOUT_DELAY_MS } from './definition.ts';
import type { Kind } from './options.ts';

export type SourceFault = FaultRuleInput & { label: Kind };

export interface FaultPlan {
  writeFailures: { processor: string; times: number }[];
  slowHandlers: { processor: string; delayMs: number; times: number }[];
  /** The functions a kill or a duplicate delivery may hit. */
  functionNames: string[];
  /** Functions that publish every message twice. */
  duplicating: string[];
  sourceFaults: SourceFault[];
  kills: number;
  poisonCount: number;
  /** The date served short (the last one), or null. */
  shortDate: string | null;
  /** Every date but the short one. */
  others: string[];
  forceDate: string | undefined;
  /** The date of the scheduled "yesterday" request that is dead-lettered the day after. */
  relativeDate: string | undefined;
}

/** `n` dates from the start of a season the seed picks: later dates of a season need the earlier ones. */
export function pickDates(dataset: Dataset, n: number, random: SeededRandom): string[] {
  const seasons = new Map<string, string[]>();
  for (const d of dataset.dates) seasons.set(seasonOfDate(d), [...(seasons.get(seasonOfDate(d)) ?? []), d]);
  const long = [...seasons.values()].filter((dates) => dates.length >= n);
  if (long.length === 0) {
    const longest = Math.max(...[...seasons.values()].map((d) => d.length));
    throw new InvalidArgumentError(`no season has ${n} game dates (the longest has ${longest})`);
  }
  return random.pick(long).slice(0, n);
}

/** Every kind of source fault at least once, then as many more as a third of the dates. */
function drawSourceFaults(random: SeededRandom, dates: readonly string[]): SourceFault[] {
  return Array.from({ length: Math.max(3, Math.ceil(dates.length / 3)) }, (_, i): SourceFault => {
    const date = random.pick(dates);
    const endpoint = random.pick(['boxscores', 'schedule'] as const);
    const kind = (['rate_limit', 'server_error', 'slow'] as const)[i % 3]!;
    const on = { endpoint, kind, dates: [date] };
    if (kind === 'rate_limit')
      return { label: 'source 429', ...on, times: random.int(1, 3), retryAfterSeconds: 1 };
    if (kind === 'server_error') {
      const times = random.int(1, 3);
      return { label: 'source 5xx', ...on, times, status: random.pick([500, 502, 503]) };
    }
    return { label: 'source timeout', ...on, times: 1, delayMs: SOURCE_TIMEOUT_DELAY_MS };
  });
}

export function drawFaults(
  ctx: ChaosContext,
  definition: LoadedDefinition,
  dates: readonly string[],
): FaultPlan {
  const { random } = ctx;
  const processors = definition.processorNames();
  const n = dates.length;
  const writeFailures = random
    .sample(processors, Math.max(1, Math.ceil(n / 3)))
    .map((processor) => ({ processor, times: random.int(1, 2) }));
  const slowHandlers = random
    .sample(processors, Math.max(1, Math.floor(n / 6)))
    .map((processor) => ({ processor, delayMs: SLOW_HANDLER_MS, times: 1 }));
  const functionNames = [
    ORCHESTRATOR_ENTRY_POINTS.runs,
    ORCHESTRATOR_ENTRY_POINTS.completions,
    ...definition.phases.map((p) => phaseEntryPoint(p.id)),
  ];
  const duplicating = random.sample(functionNames, 1 + Math.floor(n / 8));
  const sourceFaults = drawSourceFaults(random, dates);
  // Logic faults. Short data on the last date (later dates of a season read the earlier ones: a short
  // date in the middle would make every later date differ too), for longer than the retry budget.
  const shortDate = ctx.enabled('short data') && n >= 2 ? dates.at(-1)! : null;
  const others = dates.filter((d) => d !== shortDate);
  const forceDate = ctx.enabled('forced second run') ? random.pick(others) : undefined;
  // Never the forced date: the scheduled re-run would become its current run, and the forced run could
  // not be judged. With one date to spare (--dates 2 and short data) the scheduled request is left out.
  const spare = others.filter((d) => d !== forceDate);
  const relativeDate =
    ctx.enabled('dead-lettered scheduled request') && spare.length > 0 ? random.pick(spare) : undefined;
  if (shortDate)
    sourceFaults.push({
      label: 'short data',
      endpoint: 'boxscores',
      kind: 'missing_rows',
      dates: [shortDate],
      rows: 2,
    });
  return {
    writeFailures,
    slowHandlers,
    functionNames,
    duplicating,
    sourceFaults,
    kills: Math.max(2, Math.ceil(n / 3)),
    poisonCount: 2 + Math.floor(n / 10),
    shortDate,
    others,
    forceDate,
    relativeDate,
  };
}

/** Each function's PHASEGATE_FAULTS: its processors' write failures and slow handlers, its duplicates. */
export function functionFaults(
  plan: FaultPlan,
  definition: LoadedDefinition,
): (name: string) => Record<string, string> {
  return (name) => {
    const phase = definition.phases.find((p) => phaseEntryPoint(p.id) === name);
    const mine = <T extends { processor: string }>(list: T[]): T[] =>
      list.filter((f) => phase?.processors.some((s) => s.name === f.processor));
    const spec: Partial<FaultSpec> = {
      writeFailures: mine(plan.writeFailures),
      slowHandlers: mine(plan.slowHandlers),
      duplicatePublishes: plan.duplicating.includes(name) ? 2 : 1,
    };
    return { PHASEGATE_FAULTS: JSON.stringify(spec) };
  };
}
