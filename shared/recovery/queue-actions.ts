import type { LoadedDefinition } from '../definition/load.ts';
import type { Clock } from '../ports/clock.ts';
import type { Publisher } from '../ports/publisher.ts';
import type { DocumentStore } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { QUEUE_STATUSES, type QueueStatus } from './queue-status.ts';
import { retryMessage } from './retry-claim.ts';
import { readSupersessions, settleSuperseded } from './supersede.ts';
import { isOpen } from './queue-policy.ts';
import type { QueueTransitionType } from '../events/pipeline-event.ts';
import { readEntry, recordTransition, type QueueEntry } from './queue-entry.ts';
import { queuePages, type QueueFilter } from './queue-pages.ts';
import { isPaused } from '../orchestration/pause-state.ts';

export type { QueueFilter };

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

/** Every match, oldest failure first, read page by page; `limit` keeps the first n. */
export async function listQueue(
  store: DocumentStore,
  filter: QueueFilter & { limit?: number } = {},
): Promise<QueueEntry[]> {
  const entries: QueueEntry[] = [];
  for await (const page of queuePages(store, filter)) entries.push(...page);
  // Every match unless a limit is asked for: a cut the caller does not know of would make a bulk
  // action (requeue) partial without saying so.
  entries.sort((a, b) => String(a.firstFailedAt).localeCompare(String(b.firstFailedAt)));
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
  onlyIf?: readonly QueueStatus[],
): Promise<QueueEntry> {
  const at = deps.clock.now().toISOString();
  return deps.store.transaction(async (tx) => {
    const entry = await readEntry(tx, entryId);
    if (!entry) throw new QueueActionError(`no queue entry "${entryId}"`);
    refuseChanged(entry, onlyIf);
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

/** A bulk action read the entry in one of `onlyIf`; one that has moved on since (a tick took it) is not acted on. */
function refuseChanged(entry: QueueEntry, onlyIf: readonly QueueStatus[] | undefined): void {
  if (onlyIf && !onlyIf.includes(entry.status))
    throw new QueueActionError(
      `entry "${entry.requestId}" is ${entry.status} now: it changed since it was read`,
    );
}

/**
 * Retries now, whatever the schedule: for a person who fixed the cause. Re-publishes the original request;
 * an entry of a superseded run is closed as `superseded` instead (returned with that status and its note).
 */
export async function retryNow(
  deps: QueueActionDeps,
  entryId: string,
  note: string,
  onlyIf?: readonly QueueStatus[],
): Promise<QueueEntry> {
  if (await isPaused(deps.store))
    throw new QueueActionError('the pipeline is paused: nothing is retried until `phasegate resume`');
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
      refuseChanged(entry, onlyIf);
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
export const resolveEntry = (
  deps: QueueActionDeps,
  entryId: string,
  note: string,
  onlyIf?: readonly QueueStatus[],
) =>
  transition(
    deps,
    entryId,
    ['pending', 'waiting', 'retrying', 'failed_permanent'],
    'succeeded',
    'queue_resolved',
    note,
    { nextRetryAt: null, resolvedAt: deps.clock.now().toISOString() },
    onlyIf,
  );

/** Nothing to do about it (e.g. a test message): closed as discarded, with the reason. */
export const discardEntry = (
  deps: QueueActionDeps,
  entryId: string,
  note: string,
  onlyIf?: readonly QueueStatus[],
) =>
  transition(
    deps,
    entryId,
    ['pending', 'waiting', 'retrying', 'failed_permanent'],
    'discarded',
    'queue_discarded',
    note,
    { nextRetryAt: null },
    onlyIf,
  );

/** The failed_permanent entries of a partition range: what `requeueRange` acts on (count it first with countQueue). */
export const requeueFilter = (deps: QueueActionDeps, from: string, to: string): QueueFilter => ({
  status: 'failed_permanent',
  from,
  to,
  compare: (a, b) => deps.definition.scheme.compare(a, b),
});

/**
 * Every failed_permanent entry of a partition range goes back to pending with a fresh retry budget,
 * a page at a time (each entry leaves the filter as it is requeued; the cursor moves past it).
 */
export async function requeueRange(
  deps: QueueActionDeps,
  from: string,
  to: string,
  note: string,
): Promise<string[]> {
  const requeued: string[] = [];
  for await (const page of queuePages(deps.store, requeueFilter(deps, from, to)))
    for (const entry of page) {
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
