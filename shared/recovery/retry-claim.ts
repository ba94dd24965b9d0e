import type { PipelineDefinition } from '../definition/schema.ts';
import { phaseTopic, type ProcessorRequest } from '../messages/messages.ts';
import type { Transaction } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { recordTransition, type QueueEntry } from './queue-entry.ts';
import { DUE_STATUSES } from './queue-policy.ts';
import { settleSuperseded, type Supersessions } from './supersede.ts';

/** What a retry publishes: the original request as a retry, or the orchestrator message as it was. */
export function retryMessage(
  entry: QueueEntry,
  parentEventId: string,
): { topic: string; message: unknown } | null {
  if (entry.request) {
    const request = entry.request as ProcessorRequest;
    return {
      topic: phaseTopic(request.phase),
      message: { ...request, triggerSource: 'retry', parentEventId } satisfies ProcessorRequest,
    };
  }
  return entry.retryTarget ?? null;
}

/** What claiming a due entry decided; the caller publishes a retry's message after the commit. */
export type Claim =
  | { entry: QueueEntry; message: { topic: string; message: unknown } }
  | { exhausted: QueueEntry }
  | { expired: QueueEntry }
  | { superseded: QueueEntry };

/** Closes an entry for a person (NEEDS MANUAL FIX): no automatic retry will run it again. */
function giveUp(tx: Transaction, id: string, lastError: string, nowIso: string): void {
  tx.set(
    COLLECTIONS.queue,
    id,
    { status: 'failed_permanent', needsManualFix: true, nextRetryAt: null, lastError, updatedAt: nowIso },
    { merge: true },
  );
}

/** An automatic retry that ends here: the transition event, then the entry closed for a person. */
function failForGood(tx: Transaction, id: string, entry: QueueEntry, message: string, nowIso: string): void {
  const to = 'failed_permanent';
  recordTransition(tx, {
    entry,
    type: 'queue_failed_permanent',
    at: nowIso,
    from: entry.status,
    to,
    message,
  });
  giveUp(tx, id, `${message}: ${entry.lastError}`, nowIso);
}

/**
 * Claims one entry in the caller's transaction, writing its transition: null when it is not due
 * (gone, settled, or due later); else whether it is re-published, given up on (retries exhausted,
 * source deadline passed) or closed as superseded.
 */
export function claimEntry(
  tx: Transaction,
  id: string,
  entry: QueueEntry | undefined,
  at: { now: Date; queue: PipelineDefinition['queue']; supersessions: Supersessions },
): Claim | null {
  const { now, queue } = at;
  const nowIso = now.toISOString();
  if (
    !entry ||
    !DUE_STATUSES.includes(entry.status) ||
    entry.nextRetryAt === null ||
    entry.nextRetryAt > nowIso
  )
    return null;
  const by = entry.runId ? at.supersessions.get(entry.runId) : undefined;
  if (by) {
    // Never re-run an old run's request blindly: closed (the current run decides) or re-targeted.
    settleSuperseded(tx, entry, by, nowIso);
    return { superseded: entry };
  }
  // Asking a source that was not ready is not a retry of a failure: it has its own counter,
  // so a late source does not spend the retry budget of the failures that may follow; its
  // limit is the deadline (also when its check was lost and the entry is still `retrying`).
  const sourceCheck =
    entry.status === 'waiting' || (entry.status === 'retrying' && entry.lastClaim === 'source_check');
  if (sourceCheck && entry.deadlineAt && entry.deadlineAt <= nowIso) {
    const what =
      entry.errorReason === 'earlier_partitions_missing'
        ? 'earlier partitions still missing'
        : 'source still not published';
    const message = `${what} at the deadline ${entry.deadlineAt}`;
    failForGood(tx, id, entry, message, nowIso);
    return { expired: entry };
  }
  // Waiting entries follow the source's cadence until their deadline, not maxRetries.
  if (!sourceCheck && entry.retryCount >= queue.maxRetries) {
    const message = `gave up after ${entry.retryCount} automatic retries`;
    failForGood(tx, id, entry, message, nowIso);
    return { exhausted: entry };
  }
  const claimed: QueueEntry = sourceCheck
    ? { ...entry, waitChecks: (entry.waitChecks ?? 0) + 1 }
    : { ...entry, retryCount: entry.retryCount + 1 };
  const eventId = recordTransition(tx, {
    entry: claimed,
    type: 'retry_started',
    at: nowIso,
    from: entry.status,
    to: 'retrying',
    message: sourceCheck
      ? `source check ${claimed.waitChecks ?? 0} (waiting until ${entry.deadlineAt ?? 'no deadline'})`
      : `automatic retry ${claimed.retryCount} of ${queue.maxRetries}`,
  });
  const message = retryMessage(claimed, eventId);
  if (!message) {
    giveUp(tx, id, `nothing to re-publish: ${entry.lastError}`, nowIso);
    return { exhausted: entry };
  }
  tx.set(
    COLLECTIONS.queue,
    id,
    {
      status: 'retrying',
      retryCount: claimed.retryCount,
      waitChecks: claimed.waitChecks ?? 0,
      lastClaim: sourceCheck ? 'source_check' : 'retry',
      lastRetryAt: nowIso,
      lastRetryEventId: eventId,
      nextRetryAt: new Date(now.getTime() + queue.retryingStaleSeconds * 1000).toISOString(),
      updatedAt: nowIso,
    },
    { merge: true },
  );
  return { entry: claimed, message };
}
