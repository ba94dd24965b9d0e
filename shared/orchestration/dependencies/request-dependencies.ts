import type { QueueEntry } from '../../recovery/queue-entry.ts';
import { COLLECTIONS } from '../../runtime/collections.ts';
import { parseDependency, currentRuns, type DependencyDeps, type DependencyDoc } from './dependency-doc.ts';

const MAX_WAITERS = 50;

/**
 * Records what a waiting entry needs: each of its earlier partitions becomes (or joins) a
 * dependency document. Idempotent: a redelivered notice or a second waiter adds nothing twice.
 */
export async function requestDependencies(
  deps: DependencyDeps,
  entry: Pick<QueueEntry, 'requestId' | 'partition' | 'waitingForPartitions'>,
): Promise<string[]> {
  const { scheme } = deps.definition;
  // Only earlier ones: a processor naming its own or a later partition would make a cycle.
  const named = [...new Set(entry.waitingForPartitions ?? [])];
  const partitions = named.filter(
    (p) => scheme.problem(p) === null && entry.partition !== null && scheme.compare(p, entry.partition) < 0,
  );
  if (partitions.length < named.length)
    deps.logger.warn(
      { requestId: entry.requestId, ignored: named.filter((p) => !partitions.includes(p)) },
      'a wait named partitions that are not earlier keys of this pipeline: not run',
    );
  if (partitions.length === 0) return [];
  const now = deps.clock.now().toISOString();
  // Read outside the transaction: a current run that is not SUCCESS re-opens a `done` one.
  const runs = await currentRuns(deps.store, partitions);
  return deps.store.transaction(async (tx) => {
    const existing = await Promise.all(
      partitions.map(async (p) => parseDependency(p, await tx.get(COLLECTIONS.dependencies, p))),
    );
    const added: string[] = [];
    partitions.forEach((partition, i) => {
      const doc = existing[i];
      const regressed = doc?.status === 'done' && runs.get(partition)?.status !== 'SUCCESS';
      if (doc?.waiters.includes(entry.requestId) && !regressed) return;
      if (!doc || regressed) added.push(partition);
      const next: DependencyDoc = doc
        ? {
            ...doc,
            // The newest waiters only: the count says how many asked (a document stays far below 1 MiB).
            waiters: [...doc.waiters.filter((w) => w !== entry.requestId), entry.requestId].slice(
              -MAX_WAITERS,
            ),
            waiterCount:
              (doc.waiterCount ?? doc.waiters.length) + (doc.waiters.includes(entry.requestId) ? 0 : 1),
            ...(regressed
              ? {
                  status: 'queued' as const,
                  reason: `its run ${runs.get(partition)?.runId ?? '(none)'} is no longer SUCCESS`,
                }
              : {}),
            updatedAt: now,
          }
        : {
            partition,
            status: 'queued',
            waiters: [entry.requestId],
            waiterCount: 1,
            requestedAt: now,
            startedAt: null,
            starts: 0,
            messageId: null,
            runId: null,
            outcome: null,
            reason: null,
            updatedAt: now,
          };
      tx.set(COLLECTIONS.dependencies, partition, { ...next });
    });
    return added;
  });
}
