import type { RunRequest } from '../../messages/messages.ts';
import { TOPICS } from '../../messages/messages.ts';
import { retryEntries } from '../../recovery/auto-retry.ts';
import { parseEntries } from '../../recovery/queue-entry.ts';
import { COLLECTIONS } from '../../runtime/collections.ts';
import { parseDependency, type DependencyDeps, type DependencyDoc } from './dependency-doc.ts';
import { resumeWaiters } from './resume-waiters.ts';
import { reviewOpenDependencies } from './review-open-dependencies.ts';
import { claimStart } from './settle-dependency.ts';
import { isPaused } from '../pause-state.ts';

export interface PumpResult {
  started: string[];
  done: string[];
  failed: string[];
  resumed: string[];
}

/** One pass: settle what finished, start what has a slot, resume what has everything it waited for. */
export async function pumpDependencies(deps: DependencyDeps): Promise<PumpResult> {
  const result: PumpResult = { started: [], done: [], failed: [], resumed: [] };
  // Paused by an operator: it would start runs and retries; a held request must not age into a failure.
  if (await isPaused(deps.store)) return result;
  // Read in one query (a failed one is done once its partition succeeds after all: a retry, a person),
  // beside the waiting entries: the two are independent.
  const [openDocs, waitingDocs] = await Promise.all([
    deps.store.query(COLLECTIONS.dependencies, {
      filters: [{ field: 'status', op: 'in', value: ['started', 'queued', 'failed'] }],
    }),
    deps.store.query(COLLECTIONS.queue, {
      filters: [
        { field: 'status', op: '==', value: 'waiting' },
        { field: 'errorReason', op: '==', value: 'earlier_partitions_missing' },
      ],
    }),
  ]);
  const open = openDocs.flatMap((d) => parseDependency(d.id, d.data) ?? []);
  const waitingEntries = parseEntries(waitingDocs);
  const waitingRuns = new Set(waitingEntries.map((e) => e.runId));
  const { active, queued } = await reviewOpenDependencies(deps, open, waitingRuns, result);
  queued.sort((a, b) => deps.definition.scheme.compare(a.partition, b.partition));
  const slots = Math.max(0, deps.definition.dependencies.concurrency - active);
  for (const dep of queued.slice(0, slots)) {
    if (await startDependency(deps, dep)) result.started.push(dep.partition);
  }
  for (const partition of result.failed) await alertFailed(deps, partition);
  result.resumed = await resumeWaiters(deps, waitingEntries);
  // Re-run now, not at the next tick (an idle tick subscription of the emulator delivers up to ~10 s late).
  if (result.resumed.length > 0) await retryEntries(deps, result.resumed, deps.clock.now());
  if (result.started.length + result.done.length + result.failed.length + result.resumed.length > 0)
    deps.logger.info({ ...result, active }, 'partition dependencies');
  return result;
}

/** Publishes the run request of a queued dependency, once (the claim makes two pumps start it once). */
async function startDependency(deps: DependencyDeps, dep: DependencyDoc): Promise<boolean> {
  if (!(await claimStart(deps, dep.partition))) return false;
  const others = (dep.waiterCount ?? dep.waiters.length) - 1;
  const neededBy = `${dep.waiters[0] ?? '?'}${others > 0 ? ` and ${others} more` : ''}`;
  const request: RunRequest = {
    partition: dep.partition,
    triggerSource: 'backfill',
    // requestedBy is at most 200 characters: the first waiter and how many more.
    requestedBy: `dependencies: needed by ${neededBy}`.slice(0, 200),
  };
  const messageId = await deps.publisher.publish(TOPICS.runRequests, request, { dependency: dep.partition });
  await deps.store.set(COLLECTIONS.dependencies, dep.partition, { messageId }, { merge: true });
  return true;
}

async function alertFailed(deps: DependencyDeps, partition: string): Promise<void> {
  await deps.notifier?.({
    kind: 'failed_permanent',
    dedupKey: `dependency_failed:${partition}`,
    runId: null,
    partition,
    phase: 'dependencies',
    processor: null,
    message:
      `earlier partition ${partition} did not succeed; the runs waiting for it stay waiting until it does ` +
      `(retry it, then they resume)`,
  });
}
