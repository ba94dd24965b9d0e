import type { ProcessorCompleted, ProcessorFailed, ProcessorRequest } from '../messages/messages.ts';
import type { DocData, DocWrite, DocumentStore } from '../ports/store.ts';
import { COLLECTIONS } from './collections.ts';
import { isCancelledRun, supersedingRun } from '../orchestration/generation.ts';

export const PROCESSOR_RUN_STATUSES = [
  'running',
  'completed',
  'failed_transient',
  'waiting',
  'failed_permanent',
] as const;
export type ProcessorRunStatus = (typeof PROCESSOR_RUN_STATUSES)[number];

export type BeginResult =
  | { state: 'started'; attempt: number }
  /** Work already done: re-publish the stored completion, ack, redo nothing. */
  | { state: 'completed'; completion: ProcessorCompleted }
  /** Another delivery holds the lease: redeliver later rather than run twice at once. */
  | { state: 'in_progress'; leaseExpiresAt: string }
  /** Settled in the failed-processor queue; only a retry (triggerSource=retry) runs it again. */
  | { state: 'settled'; status: 'waiting' | 'failed_permanent'; notice: ProcessorFailed | null }
  /** A newer run of the partition took over: acked with an event, nothing run or written. */
  | { state: 'superseded'; currentRunId: string }
  /** An operator cancelled the run: acked, nothing run or written. */
  | { state: 'cancelled' };

/**
 * Claims one attempt of a request. Attempts are counted here because push deliveries carry no
 * delivery-attempt count. `startedEvent` is committed with the attempt it records.
 *
 * A first delivery claims attempt 1 in one create-only commit, the run lock read alongside: that
 * is as exclusive as the transaction below (of two first deliveries one creates the record, the
 * other finds it), in one round trip instead of three. A record that exists (a redelivery, a
 * retry, a duplicate) goes through the transaction. The lock read here only spares a superseded
 * run the work: the commit of the attempt's writes re-reads it (writer.ts), and a newer run that
 * took the partition after this read is caught there.
 */
export async function beginAttempt(
  store: DocumentStore,
  request: ProcessorRequest,
  now: Date,
  leaseMs: number,
  startedEvent?: (attempt: number) => DocWrite,
): Promise<BeginResult> {
  const event = startedEvent?.(1);
  const [created, lock] = await Promise.all([
    store.createWith(
      {
        collection: COLLECTIONS.processorRuns,
        id: request.requestId,
        data: attemptRecord(request, 1, now, leaseMs),
      },
      event ? [event] : [],
    ),
    store.get(COLLECTIONS.runLocks, request.partition),
  ]);
  if (!created) return beginInTransaction(store, request, now, leaseMs, startedEvent);
  const currentRunId = supersedingRun(lock, request.runId);
  const cancelled = isCancelledRun(lock, request.runId);
  if (!currentRunId && !cancelled) return { state: 'started', attempt: 1 };
  // Superseded or cancelled before it ran: the claim is taken back, so no record says it is running
  // (the transaction below writes nothing in these cases either).
  await withdrawFirstClaim(store, request.requestId, now, event);
  return currentRunId ? { state: 'superseded', currentRunId } : { state: 'cancelled' };
}

/** Deletes a first attempt's record and its started event, unless another delivery took the request over since. */
async function withdrawFirstClaim(
  store: DocumentStore,
  requestId: string,
  claimedAt: Date,
  event: DocWrite | undefined,
): Promise<void> {
  await store.transaction(async (tx) => {
    const record = await tx.get(COLLECTIONS.processorRuns, requestId);
    if (record?.attempts !== 1 || record.lastAttemptAt !== claimedAt.toISOString()) return;
    tx.delete(COLLECTIONS.processorRuns, requestId);
    if (event) tx.delete(event.collection, event.id);
  });
}

function attemptRecord(
  request: ProcessorRequest,
  attempt: number,
  now: Date,
  leaseMs: number,
  firstAttemptAt: unknown = now.toISOString(),
): DocData {
  return {
    requestId: request.requestId,
    runId: request.runId,
    partition: request.partition,
    phase: request.phase,
    processor: request.processor,
    status: 'running' satisfies ProcessorRunStatus,
    attempts: attempt,
    firstAttemptAt,
    lastAttemptAt: now.toISOString(),
    leaseExpiresAt: new Date(now.getTime() + leaseMs).toISOString(),
    lastTriggerSource: request.triggerSource,
  };
}

/** The claim of an attempt of a request that has a record: it decides on what that record says. */
async function beginInTransaction(
  store: DocumentStore,
  request: ProcessorRequest,
  now: Date,
  leaseMs: number,
  startedEvent?: (attempt: number) => DocWrite,
): Promise<BeginResult> {
  return store.transaction(async (tx) => {
    const [existing, lock] = await Promise.all([
      tx.get(COLLECTIONS.processorRuns, request.requestId),
      tx.get(COLLECTIONS.runLocks, request.partition),
    ]);
    const currentRunId = supersedingRun(lock, request.runId);
    if (currentRunId) return { state: 'superseded', currentRunId };
    if (isCancelledRun(lock, request.runId)) return { state: 'cancelled' };
    const status = existing?.status as ProcessorRunStatus | undefined;
    // A retry re-runs even a completed request: the gate found its data short.
    if (status === 'completed' && existing?.completion && request.triggerSource !== 'retry') {
      return { state: 'completed', completion: existing.completion as ProcessorCompleted };
    }
    if (
      status === 'running' &&
      typeof existing?.leaseExpiresAt === 'string' &&
      existing.leaseExpiresAt > now.toISOString()
    ) {
      return { state: 'in_progress', leaseExpiresAt: existing.leaseExpiresAt };
    }
    if ((status === 'waiting' || status === 'failed_permanent') && request.triggerSource !== 'retry') {
      return {
        state: 'settled',
        status,
        notice: (existing?.failureNotice as ProcessorFailed | undefined) ?? null,
      };
    }
    const attempt = (typeof existing?.attempts === 'number' ? existing.attempts : 0) + 1;
    tx.set(
      COLLECTIONS.processorRuns,
      request.requestId,
      attemptRecord(request, attempt, now, leaseMs, existing?.firstAttemptAt ?? now.toISOString()),
    );
    const event = startedEvent?.(attempt);
    if (event) tx.set(event.collection, event.id, event.data);
    return { state: 'started', attempt };
  });
}

/**
 * Extends a running attempt's lease to `expiresAt`, in a transaction. False once the attempt is no
 * longer the current, running one (it completed, failed, or a newer attempt took over): stop renewing.
 */
export async function renewLease(
  store: DocumentStore,
  requestId: string,
  attempt: number,
  expiresAt: Date,
): Promise<boolean> {
  return store.transaction(async (tx) => {
    const run = await tx.get(COLLECTIONS.processorRuns, requestId);
    if (run?.status !== 'running' || run.attempts !== attempt) return false;
    tx.set(
      COLLECTIONS.processorRuns,
      requestId,
      { leaseExpiresAt: expiresAt.toISOString() },
      { merge: true },
    );
    return true;
  });
}

export function completedRunWrite(completion: ProcessorCompleted): DocWrite {
  return {
    collection: COLLECTIONS.processorRuns,
    id: completion.requestId,
    merge: true,
    data: {
      status: 'completed' satisfies ProcessorRunStatus,
      completedAt: completion.completedAt,
      leaseExpiresAt: null,
      completion: completion,
      lastError: null,
    },
  };
}

/**
 * An attempt is current while no later attempt has begun and none has completed the request:
 * an attempt that ran past its lease (a zombie) must not overwrite what a newer one recorded.
 */
export async function isCurrentAttempt(
  store: DocumentStore,
  requestId: string,
  attempt: number,
): Promise<boolean> {
  const run = await store.get(COLLECTIONS.processorRuns, requestId);
  return isCurrent(run, attempt);
}

const isCurrent = (run: Record<string, unknown> | undefined, attempt: number) =>
  !run || ((typeof run.attempts !== 'number' || run.attempts <= attempt) && run.status !== 'completed');

/** Records this attempt's failure, unless a newer attempt began or the request completed meanwhile (then false). */
export async function markRunFailed(
  store: DocumentStore,
  requestId: string,
  attempt: number,
  status: Exclude<ProcessorRunStatus, 'running' | 'completed'>,
  error: { kind: string; message: string },
  now: Date,
  failureNotice: ProcessorFailed | null = null,
): Promise<boolean> {
  return store.transaction(async (tx) => {
    if (!isCurrent(await tx.get(COLLECTIONS.processorRuns, requestId), attempt)) return false;
    tx.set(
      COLLECTIONS.processorRuns,
      requestId,
      { status, leaseExpiresAt: null, lastError: error, lastFailedAt: now.toISOString(), failureNotice },
      { merge: true },
    );
    return true;
  });
}
