// Benchmark 8's measurement, on any store: the same operations over a large history and over none.
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import type { Logger } from '../../shared/ports/logger.ts';
import type { Publisher } from '../../shared/ports/publisher.ts';
import type { DocumentStore } from '../../shared/ports/store.ts';
import { RECONCILE_WINDOW_MS } from '../../shared/operations/run-healing.ts';
import { measureOperations, OPERATIONS, type Operation } from './history-reads.ts';
import { writeConcurrently } from './batched-writes.ts';
import { historyDocuments, type HistorySize } from './history-seed.ts';
import type { Result } from './report.ts';
import { percentile, ratio, timed } from './stats.ts';

/** A store of its own for each label (a project of its own on the emulator). */
export type OpenStore = (
  label: string,
) => Promise<{ store: DocumentStore; publisher: Publisher; close: () => Promise<void> }>;

export interface HistoryComparison {
  definition: LoadedDefinition;
  clock: Clock;
  logger: Logger;
  size: HistorySize;
  /** Runs of the last day in both stores, a PARTIAL one with its open entry: more than the dashboard lists. */
  recentRuns: number;
  /** Measurements of each store, alternating, after one to warm up; the median time is reported. */
  rounds: number;
  /** Batches of 500 in flight while seeding. */
  concurrency: number;
  say: (line: string) => void;
}

/** The history ends a day past the reconcile window: every run of it is older than any window. */
export const HISTORY_ENDS_BEFORE_MS = RECONCILE_WINDOW_MS + 86_400_000;

const round1 = (ms: number) => Math.round(ms * 10) / 10;

/**
 * Seeds one store with the recent runs and a large history and another with the recent runs only,
 * then measures the reconcile tick, the dashboard's state read, an unchanged poll and health on each.
 * The headline is the slower of the tick's and the dashboard's time ratios; the reads must not differ.
 */
export async function compareHistories(open: OpenStore, c: HistoryComparison): Promise<Result> {
  const now = c.clock.now().getTime();
  const recent = () =>
    historyDocuments(c.definition, {
      runs: c.recentRuns,
      closedEntries: 0,
      prefix: 'recent',
      endsMs: now - 60_000,
      everyMs: Math.floor(43_200_000 / Math.max(1, c.recentRuns)),
      openEntries: true,
    });
  const large = await open('history-large');
  const empty = await open('history-empty');
  try {
    await writeConcurrently(empty.store, recent(), c.concurrency);
    await writeConcurrently(large.store, recent(), c.concurrency);
    const history = historyDocuments(c.definition, {
      ...c.size,
      prefix: 'old',
      endsMs: now - HISTORY_ENDS_BEFORE_MS,
      everyMs: 600_000,
      openEntries: false,
    });
    const progress = ({ documents, batches }: { documents: number; batches: number }) => {
      if (batches % 200 === 0) c.say(`   seeding: ${documents} documents`);
    };
    const seeded = await timed(() => writeConcurrently(large.store, history, c.concurrency, progress));
    const seedSeconds = round1(seeded.ms / 1000);
    c.say(
      `   seeded ${seeded.value.documents} documents in ${seeded.value.batches} batches of at most 500, ` +
        `${c.concurrency} at a time: ${seedSeconds} s (${Math.round(seeded.value.documents / (seeded.ms / 1000))} docs/s)`,
    );
    const times = { large: new Map<Operation, number[]>(), empty: new Map<Operation, number[]>() };
    const reads = { large: new Map<Operation, number>(), empty: new Map<Operation, number>() };
    for (let r = 0; r <= c.rounds; r += 1) {
      for (const [label, { store, publisher }] of [
        ['large', large],
        ['empty', empty],
      ] as const) {
        const measured = await measureOperations(store, { ...c, publisher });
        // Round 0 warms up (the emulator's JIT, the first tick's writes, if any).
        for (const op of r > 0 ? OPERATIONS : []) {
          const seen = reads[label].get(op);
          if (seen !== undefined && seen !== measured[op].reads)
            throw new Error(
              `${op} read ${measured[op].reads} documents of the ${label} store, ${seen} before`,
            );
          reads[label].set(op, measured[op].reads);
          times[label].set(op, [...(times[label].get(op) ?? []), measured[op].ms]);
        }
      }
    }
    const figures = (label: 'large' | 'empty') =>
      Object.fromEntries(
        OPERATIONS.flatMap((op) => [
          [`${op}Ms`, round1(percentile(times[label].get(op)!, 50))],
          [`${op}Reads`, reads[label].get(op)!],
        ]),
      );
    const large8 = figures('large');
    const empty8 = figures('empty');
    const worst = Math.max(
      ratio(large8.tickMs!, empty8.tickMs!),
      ratio(large8.dashboardMs!, empty8.dashboardMs!),
    );
    return {
      id: 8,
      name:
        `reconcile tick and dashboard state: ${c.size.runs} old runs and ${c.size.closedEntries} closed entries ` +
        `beside ${c.recentRuns} recent runs`,
      figures: {
        ...large8,
        seededDocuments: seeded.value.documents,
        seedSeconds,
      },
      baseline: { name: `the same ${c.recentRuns} recent runs, no history`, figures: empty8 },
      ratio: worst,
      headline: 'median time, the slower of tick and dashboard state',
      target: 'at most 1.2x',
      met: worst <= 1.2,
    };
  } finally {
    await large.close();
    await empty.close();
  }
}
