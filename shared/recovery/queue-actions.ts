import type { LoadedDefinition } from '../definition/load.ts';
import type { Clock } from '../ports/clock.ts';
import type { Publisher } from '../ports/publisher.ts';
import type { DocumentStore, Filter } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { QUEUE_STATUSES, type QueueStatus } from './queue-status.ts';
import { retryMessage } from './retry-claim.ts';
import { readSupersessions, settleSuperseded } from './supersede.ts';
import { isOpen } from './queue-policy.ts';
import type { QueueTransitionType } from '../events/pipeline-event.ts';
import { readEntry, recordTransition, type QueueEntry, parseEntries } from './queue-entry.ts';

/** Manual recovery: what the CLI and the dashboard do to queue entries. Every change is a transaction and an event. */
export interface QueueActionDeps {
  definition: LoadedDefinition;
  store: DocumentStore;
  publisher: Publisher;
  clock: Clock;
}

export class QueueActionError extends Error {
  override readonly name = 'QueueActionError';
}

export interface QueueFilter {
  status?: QueueStatus;
  phase?: string;
  processor?: string;
  from?: string;
  to?: string;
  /** The pipeline's order of partitions, for `from`/`to` (string order when absent: right for days, weeks, months). */
  compare?: (a: string, b: string) => number;
  limit?: number;
}

function inRange(partition: string | null | undefined, filter: QueueFilter): boolean {
  if (!filter.from && !filter.to) return true;
  // An entry that names no partition is in no range.
  if (partition === undefined || partition === null) return false;
  const compare = filter.compare ?? ((a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0));
  return (
    (!filter.from || compare(partition, filter.from) >= 0) &&
    (!filter.to || compare(partition, filter.to) <= 0)
  );
}

export async function listQueue(store: DocumentStore, filter: QueueFilter = {}): Promise<QueueEntry[]> {
  const filters: Filter[] = [];
  if (filter.status) filters.push({ field: 'status', op: '==', value: filter.status });
  if (filter.phase) filters.push({ field: 'phase', op: '==', value: filter.phase });
  if (filter.processor) filters.push({ field: 'processor', op: '==', value: filter.processor });
  const docs = await store.query(COLLECTIONS.queue, { filters });
  // Every match unless a limit is asked for: a cut the caller does not know of would make a bulk
  // action (requeue) partial without saying so.
  const entries = parseEntries(docs)
    .filter((e) => inRange(e.partition, filter))
    .sort((a, b) => String(a.firstFailedAt).localeCompare(String(b.firstFailedAt)));
  return filter.limit === undefined ? entries : entries.slice(0, filter.limit);
}

/** An entry and its chain of attempts: every event of its request, oldest first. */
export async function showEntry(
  store: DocumentStore,
  entryId: string,
): Promise<{ entry: QueueEntry; events: Record<string, unknown>[] }> {
  const entry = await readEntry(store, entryId);
  if (!entry) throw new QueueActionError(`no queue entry "${entryId}"`);
  const events = (
    await store.query(COLLECTIONS.events, { filters: [{ field: 'requestId', op: '==', value: entryId }] })
  )
    .map((e) => e.data)
    .sort((a, b) => String(a.at).localeCompare(String(b.at)));
  return { entry, events };
}

async function transition(
  deps: QueueActionDeps,
  entryId: string,
  allowed: readonly QueueStatus[],
  to: QueueStatus,
  type: QueueTransitionType,
  note: string,
  extra: Record<string, unknown> = {},
): Promise<QueueEntry> {
  const at = deps.clock.now().toISOString();
  return deps.store.transaction(async (tx) => {
    const entry = await readEntry(tx, entryId);
    if (!entry) throw new QueueActionError(`no queue entry "${entryId}"`);
    if (!allowed.includes(entry.status))
      throw new QueueActionError(
        `entry "${entryId}" is ${entry.status}; ${type.replace('queue_', '')} applies to ${allowed.join(', ')}`,
      );
    recordTransition(tx, { entry, type, at, from: entry.status, to, message: note });
    tx.set(
      COLLECTIONS.queue,
      entryId,
      { status: to, needsManualFix: to === 'failed_permanent', note, updatedAt: at, ...extra },
      { merge: true },
    );
    return { ...entry, status: to };
  });
}

/**
 * Retries now, whatever the schedule: for a person who fixed the cause. Re-publishes the original request;
 * an entry of a superseded run is closed as `superseded` instead (returned with that status and its note).
 */
export async function retryNow(deps: QueueActionDeps, entryId: string, note: string): Promise<QueueEntry> {
  const at = deps.clock.now();
  const claimed = await deps.store.transaction(
    async (
      tx,
    ): Promise<
      { superseded: QueueEntry } | { entry: QueueEntry; message: { topic: string; message: unknown } }
    > => {
      const entry = await readEntry(tx, entryId);
      if (!entry) throw new QueueActionError(`no queue entry "${entryId}"`);
      if (!isOpen(entry.status))
        throw new QueueActionError(`entry "${entryId}" is ${entry.status}: nothing to retry`);
      const by = entry.runId ? (await readSupersessions(tx, [entry])).get(entry.runId) : undefined;
      if (by)
        return {
          superseded: {
            ...entry,
            status: 'superseded',
            note: settleSuperseded(tx, entry, by, at.toISOString()),
          },
        };
      const next = { ...entry, retryCount: entry.retryCount + 1 };
      const eventId = recordTransition(tx, {
        entry: next,
        type: 'retry_started',
        at: at.toISOString(),
        from: entry.status,
        to: 'retrying',
        message: `manual retry: ${note}`,
      });
      const message = retryMessage(next, eventId);
      if (!message)
        throw new QueueActionError(
          `entry "${entryId}" has no request to re-publish (its payload never parsed); fix the publisher, then discard it`,
        );
      tx.set(
        COLLECTIONS.queue,
        entryId,
        {
          status: 'retrying',
          retryCount: next.retryCount,
          lastClaim: 'retry',
          note,
          needsManualFix: false,
          lastRetryAt: at.toISOString(),
          nextRetryAt: new Date(
            at.getTime() + deps.definition.queue.retryingStaleSeconds * 1000,
          ).toISOString(),
          updatedAt: at.toISOString(),
        },
        { merge: true },
      );
      return { entry: next, message };
    },
  );
  // An old run's entry is not re-run: it is closed as superseded, and the caller is told why.
  if ('superseded' in claimed) return claimed.superseded;
  await deps.publisher.publish(claimed.message.topic, claimed.message.message, {
    requestId: entryId,
    retry: 'manual',
  });
  return { ...claimed.entry, status: 'retrying' };
}

/** The cause was fixed another way: the entry is closed as succeeded, with the note saying how. */
export const resolveEntry = (deps: QueueActionDeps, entryId: string, note: string) =>
  transition(
    deps,
    entryId,
    ['pending', 'waiting', 'retrying', 'failed_permanent'],
    'succeeded',
    'queue_resolved',
    note,
    { nextRetryAt: null, resolvedAt: deps.clock.now().toISOString() },
  );

/** Nothing to do about it (e.g. a test message): closed as discarded, with the reason. */
export const discardEntry = (deps: QueueActionDeps, entryId: string, note: string) =>
  transition(
    deps,
    entryId,
    ['pending', 'waiting', 'retrying', 'failed_permanent'],
    'discarded',
    'queue_discarded',
    note,
    { nextRetryAt: null },
  );

/** Every failed_permanent entry of a partition range goes back to pending with a fresh retry budget. */
export async function requeueRange(
  deps: QueueActionDeps,
  from: string,
  to: string,
  note: string,
): Promise<string[]> {
  const failed = await listQueue(deps.store, {
    status: 'failed_permanent',
    from,
    to,
    compare: (a, b) => deps.definition.scheme.compare(a, b),
  });
  const requeued: string[] = [];
  for (const entry of failed) {
    if (!entry.request && !entry.retryTarget) continue;
    await transition(deps, entry.requestId, ['failed_permanent'], 'pending', 'queue_requeued', note, {
      retryCount: 0,
      nextRetryAt: deps.clock.now().toISOString(),
      deadlineAt: null,
    });
    requeued.push(entry.requestId);
  }
  return requeued;
}

export { QUEUE_STATUSES };
