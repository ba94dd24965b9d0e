import { beforeAll, describe, expect, it } from 'vitest';
import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { compareHistories, type OpenStore } from '../../scripts/bench/history-compare.ts';
import { OPERATIONS } from '../../scripts/bench/history-reads.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { healthSummary } from '../../shared/operations/health.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { MemoryPublisher } from '../../shared/testing/memory-publisher.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { manualClock } from '../support/factories.ts';

const NOW = '2026-06-01T00:00:00.000Z';

/** Benchmark 8's own measurement, on MemoryStores (which refuse a query no declared index serves). */
async function compareSmall() {
  const stores = new Map<string, MemoryStore>();
  const open: OpenStore = (label) => {
    const store = new MemoryStore();
    stores.set(label, store);
    return Promise.resolve({ store, publisher: new MemoryPublisher(), close: () => Promise.resolve() });
  };
  const lines: string[] = [];
  const result = await compareHistories(open, {
    definition: referenceDefinition,
    clock: manualClock(NOW),
    logger: createMemoryLogger(),
    size: { runs: 1000, closedEntries: 500 },
    recentRuns: 60,
    rounds: 1,
    concurrency: 4,
    say: (line) => lines.push(line),
  });
  return { result, stores, lines };
}

describe('the large-history benchmark (8) at a small size', () => {
  // One seeding for both tests: it takes seconds on a busy machine.
  let small: Awaited<ReturnType<typeof compareSmall>>;
  beforeAll(async () => {
    small = await compareSmall();
  }, 120_000);

  it(
    'a reconcile tick, the dashboard (a full read and an unchanged poll) and health read as many documents ' +
      'beside 1,000 old runs and 500 closed entries as beside none',
    () => {
      const { result, stores, lines } = small;
      const large = stores.get('history-large')!;
      // The history is there: old runs of every outcome, their phases (PARTIAL ones left running), closed entries.
      expect(large.docs(COLLECTIONS.runs)).toHaveLength(1060);
      expect(large.docs(COLLECTIONS.runPhases).filter((p) => p.status === 'running').length).toBeGreaterThan(
        60,
      );
      expect(large.docs(COLLECTIONS.queue).filter((e) => e.status === 'discarded')).not.toHaveLength(0);
      expect(stores.get('history-empty')!.docs(COLLECTIONS.runs)).toHaveLength(60);
      expect(result).toMatchObject({
        id: 8,
        target: 'at most 1.2x',
        baseline: { name: 'the same 60 recent runs, no history' },
      });
      const count = (store: MemoryStore) => [...store.collections.values()].reduce((n, t) => n + t.size, 0);
      expect(result.figures.seededDocuments).toBe(count(large) - count(stores.get('history-empty')!));
      expect(lines.join('\n')).toMatch(/seeded \d+ documents in \d+ batches of at most 500, 4 at a time/);
      for (const op of OPERATIONS) {
        expect(result.figures[`${op}Reads`], op).toBe(result.baseline.figures[`${op}Reads`]);
        expect(typeof result.figures[`${op}Ms`]).toBe('number');
      }
      // What each reads of the window: the recent runs to heal, their phases and entries; the version's three
      // reads, the 50 runs the page lists with a count of each phase left running, the 3 open entries and their
      // count; a day of runs and events.
      // The version, 50 runs, their phases, the open entries, the open count, the pause and what it holds,
      // and the newest backfills (none: an empty query is billed one read).
      expect(result.figures).toMatchObject({ pollReads: 4, dashboardReads: 4 + 50 + 4 + 3 + 1 + 1 + 2 + 1 });
      expect(result.figures.tickReads).toBeGreaterThan(10);
      expect(result.figures.healthReads).toBeGreaterThan(60);
    },
  );

  it('health counts the open entries and finds the oldest without reading the closed ones', async () => {
    const { stores } = small;
    const health = await healthSummary(stores.get('history-large')!, { now: new Date(NOW), days: 1 });
    expect(health).toMatchObject({ openQueueEntries: 3, needsManualFix: 3 });
    expect(health.oldestOpenEntry?.requestId).toMatch(/^recent-run-45/);
    expect(health.runsByStatus).toEqual({ SUCCESS: 55, PARTIAL: 3, FAILED: 1, SUPERSEDED: 1 });
  });
});
