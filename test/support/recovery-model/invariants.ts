import { expect } from 'vitest';
import { recomputeRun } from '../../../shared/operations/run-healing.ts';
import { phaseDecisionId, type RunDoc } from '../../../shared/orchestration/run-doc.ts';
import { computeRunStatus } from '../../../shared/orchestration/run-status.ts';
import type { QueueEntry } from '../../../shared/recovery/queue-entry.ts';
import { isOpen } from '../../../shared/recovery/queue-policy.ts';
import { COLLECTIONS } from '../../../shared/runtime/collections.ts';
import { testDefinition } from '../../fixtures/test-pipeline/definition.ts';
import type { World } from './world.ts';

/** What a fault-free run of a date leaves, stamped with its run id. */
function faultFreeData(partition: string, runId: string): Record<string, Record<string, unknown>[]> {
  const stamp = (data: Record<string, unknown>) => ({ ...data, runId });
  return {
    widgets: [0, 1, 2].map((index) => stamp({ partition, index })),
    gadgets: ['a', 'b'].map((part) => stamp({ partition, part })),
    summaries: [stamp({ partition, widgets: 3 })],
  };
}

const PROCESSOR_COLLECTIONS: Record<string, string> = {
  widgets: 'widgets',
  gadgets: 'gadgets',
  summary: 'summaries',
};
/** The collections a run wrote itself in a phase: those of the processors it ran there (a recovery run may run one). */
const ranIn = (run: RunDoc, phase: string): string[] =>
  (run.phases[phase]?.expected ?? []).map((p) => PROCESSOR_COLLECTIONS[p]!);

export async function checkInvariants(world: World): Promise<void> {
  const { memory } = world;
  expect(world.controlDlq, '(e) nothing reaches control-dlq').toEqual([]);
  const entries = memory.docs(COLLECTIONS.queue) as unknown as QueueEntry[];
  const runs = new Map((memory.docs(COLLECTIONS.runs) as unknown as RunDoc[]).map((r) => [r.runId, r]));
  const phaseDoc = (runId: string, phase: string) =>
    memory.collections.get(COLLECTIONS.runPhases)?.get(phaseDecisionId(runId, phase));
  for (const partition of world.requestedDates) {
    const lock = memory.collections.get(COLLECTIONS.runLocks)?.get(partition);
    const dateEntries = entries.filter((e) => e.partition === partition);
    if (!lock) {
      // No run ever started: the request itself must be in the queue, saying why.
      expect(
        dateEntries.filter((e) => isOpen(e.status) || e.resolvedAt || e.status === 'discarded'),
        `(a) ${partition} has no run and no entry`,
      ).not.toEqual([]);
      continue;
    }
    const run = runs.get(String(lock.runId))!;
    expect(
      run,
      `(a) ${partition}: the lock names run ${String(lock.runId)}, which does not exist`,
    ).toBeDefined();
    const truth = await recomputeRun({ store: memory }, run);
    expect(
      run.status,
      `(a) ${partition}: stored status of ${run.runId} is not the status of its durable state`,
    ).toBe(computeRunStatus({ ...run, ...truth }));
    if (run.status === 'SUCCESS') {
      // The content of a fault-free run everywhere; its run id where this run wrote it (a recovery
      // run of one processor leaves the others' documents to the run before it).
      const own = new Set(run.phaseOrder.flatMap((p) => ranIn(run, p)));
      for (const [collection, docs] of Object.entries(faultFreeData(partition, run.runId))) {
        const found = memory
          .docs(collection)
          .filter((d) => d.partition === partition)
          .map(({ updatedAt: _, ...rest }) => (own.has(collection) ? rest : { ...rest, runId: run.runId }));
        expect(found, `(a) ${partition} SUCCESS but ${collection} differs from a fault-free run`).toEqual(
          docs,
        );
      }
    } else {
      // The why is an entry of the current run (or of the date's run requests), not one of a run it superseded.
      const explained = dateEntries.filter(
        (e) =>
          (e.runId === run.runId || e.runId === null) &&
          (isOpen(e.status) || e.resolvedAt || e.status === 'discarded') &&
          e.lastError,
      );
      expect(
        explained.length,
        `(a) ${partition} is ${run.status} and no entry of its run says why`,
      ).toBeGreaterThan(0);
    }
    const openOfRun = dateEntries.filter((e) => e.runId === run.runId && isOpen(e.status));
    if (run.status === 'SUCCESS')
      expect(
        openOfRun.map((e) => e.requestId),
        `(a) ${partition} is SUCCESS with open entries of its run`,
      ).toEqual([]);
    for (const phase of testDefinition.phases) {
      if (phaseDoc(run.runId, phase.id)?.status !== 'gate_passed') continue;
      for (const collection of ranIn(run, phase.id)) {
        const stale = memory
          .docs(collection)
          .filter((d) => d.partition === partition && d.runId !== run.runId);
        expect(
          stale,
          `(c) ${collection} of ${partition} carries an older run's id after ${run.runId} passed ${phase.id}`,
        ).toEqual([]);
      }
    }
  }
  for (const entry of entries) {
    if (entry.runId && isOpen(entry.status) && runs.get(entry.runId)?.supersededBy) {
      expect.fail(
        `(b) ${entry.requestId} is ${entry.status} but its run ${entry.runId} was superseded: it should be closed or re-targeted`,
      );
    }
    if (entry.status === 'succeeded' && !entry.resolvedAt && entry.request && entry.runId) {
      const decided = phaseDoc(entry.runId, entry.phase);
      expect(
        decided?.status,
        `(b) ${entry.requestId} succeeded, but ${entry.phase} did not pass its gate in ${entry.runId}`,
      ).toBe('gate_passed');
      const run = runs.get(entry.runId);
      const successor = run?.supersededBy ? runs.get(run.supersededBy) : undefined;
      const closedAt = String((entry as unknown as { succeededAt?: string }).succeededAt);
      if (successor)
        expect(
          closedAt < successor.createdAt,
          `(b) ${entry.requestId} closed as succeeded (${closedAt}) after its run was superseded (${successor.createdAt})`,
        ).toBe(true);
    }
    const limit = testDefinition.queue.maxRetries + (world.manualRetries.get(entry.requestId) ?? 0);
    expect(
      entry.retryCount,
      `(d) ${entry.requestId} retried ${entry.retryCount} times (limit ${limit})`,
    ).toBeLessThanOrEqual(limit);
  }
}
