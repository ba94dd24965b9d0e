import { describe, expect, it } from 'vitest';
import { healRuns, RECONCILE_WINDOW_MS } from '../../shared/operations/run-healing.ts';
import { detectStalls } from '../../shared/operations/stall-redrive.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { MemoryPublisher } from '../../shared/testing/memory-publisher.ts';
import { manualClock } from '../support/factories.ts';
import { newRunDoc } from '../../shared/orchestration/run-doc.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { recordingQueries } from '../support/recording-store.ts';

async function seedRun(store: MemoryStore, id: string, status: 'RUNNING' | 'FAILED', at: string) {
  const run = newRunDoc({
    definition: testDefinition,
    requestMessageId: id,
    runId: id,
    partition: `2020-01-${id.slice(-2)}`,
    triggerSource: 'manual',
    requestedBy: null,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    startPhase: 'alpha',
    processors: ['widgets', 'gadgets'],
    now: at,
  });
  await store.set(COLLECTIONS.runs, id, { ...run, status, updatedAt: at });
}

describe('a reconcile tick reads the window, not the history', () => {
  it('reads the RUNNING runs and those that ended within the window, not every run ever ended', async () => {
    const memory = new MemoryStore();
    const now = new Date('2026-06-01T00:00:00.000Z');
    const old = new Date(now.getTime() - 2 * RECONCILE_WINDOW_MS).toISOString();
    const recent = new Date(now.getTime() - 60_000).toISOString();
    for (let i = 10; i < 60; i += 1) await seedRun(memory, `old-run-${i}`, 'FAILED', old);
    await seedRun(memory, 'recent-run-01', 'FAILED', recent);
    await seedRun(memory, 'stuck-run-02', 'RUNNING', old);
    const { store, read } = recordingQueries(memory);
    await healRuns({ store }, now);
    expect(read(COLLECTIONS.runs)).toBe(2);
  });

  it('looks for stalls among the phases started within the window, not every phase left running', async () => {
    const memory = new MemoryStore();
    const now = new Date('2026-06-01T00:00:00.000Z');
    const old = new Date(now.getTime() - 2 * RECONCILE_WINDOW_MS).toISOString();
    const recent = new Date(now.getTime() - 3_600_000).toISOString();
    const phase = (runId: string, startedAt: string) => ({
      runId,
      phase: 'alpha',
      partition: '2020-01-01',
      expected: ['widgets'],
      status: 'running',
      startedAt,
      decidedAt: null,
      gate: null,
    });
    // The phases of runs that ended PARTIAL long ago stay `running`.
    for (let i = 0; i < 50; i += 1)
      await memory.set(COLLECTIONS.runPhases, `old-${i}_alpha`, phase(`old-${i}`, old));
    await memory.set(COLLECTIONS.runPhases, 'recent_alpha', phase('recent', recent));
    const { store, read } = recordingQueries(memory);
    const deps = {
      definition: testDefinition,
      store,
      publisher: new MemoryPublisher(),
      clock: manualClock(now.toISOString()),
      logger: createMemoryLogger(),
    };
    await detectStalls(deps, now);
    expect(read(COLLECTIONS.runPhases)).toBe(1);
  });
});
