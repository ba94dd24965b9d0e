import type { DocData, DocumentStore, Transaction } from '../ports/store.ts';
import { appendEvent } from '../events/write-event.ts';
import { COLLECTIONS } from '../runtime/collections.ts';

/**
 * Run generations. A partition has one current run: the newest started for it, which
 * `run_locks/{partition}` names. The work of any other run of the partition (a redelivered request, a
 * retry, a completion, a write) is superseded: acked with a `superseded` event, never written, so an
 * old run can never restamp a partition's documents or pass a gate over a newer run's outputs.
 */

/**
 * Whether an operator cancelled `runId`, the partition's current run: the cancel marks the lock
 * (operations/cancel-run.ts), so the claim of an attempt, which reads the lock anyway, starts nothing.
 */
export const isCancelledRun = (lock: DocData | undefined, runId: string): boolean =>
  lock?.cancelledRunId === runId;

/** The run that superseded `runId` for its partition, or null when `runId` is current (or the partition has no run). */
export function supersedingRun(lock: DocData | undefined, runId: string): string | null {
  const current = typeof lock?.runId === 'string' ? lock.runId : null;
  return current !== null && current !== runId ? current : null;
}

/** The current run of a partition, or null when none was started. */
export async function currentRunId(
  store: Pick<DocumentStore, 'get'> | Transaction,
  partition: string,
): Promise<string | null> {
  const lock = await store.get(COLLECTIONS.runLocks, partition);
  return typeof lock?.runId === 'string' ? lock.runId : null;
}

/** Thrown by a write of a superseded run: nothing of it was written. */
export class SupersededError extends Error {
  override readonly name = 'SupersededError';
  constructor(
    readonly runId: string,
    readonly currentRunId: string,
  ) {
    super(`run ${runId} was superseded by run ${currentRunId}: its writes are refused`);
  }
}

/** The one event a superseded message leaves (its id derives from what it answers: a redelivery overwrites it). */
export async function recordSuperseded(
  store: Pick<DocumentStore, 'set'>,
  input: {
    what: string;
    runId: string;
    currentRunId: string;
    partition: string;
    phase: string;
    requestId: string | null;
    processor: string | null;
    traceparent: string | null;
    at: string;
  },
): Promise<void> {
  await appendEvent(store, {
    eventId: `${input.requestId ?? input.runId}--superseded--${input.what}`,
    type: 'superseded',
    at: input.at,
    runId: input.runId,
    requestId: input.requestId,
    partition: input.partition,
    phase: input.phase,
    processor: input.processor,
    attempt: null,
    triggerSource: null,
    traceparent: input.traceparent,
    parentEventId: null,
    currentRunId: input.currentRunId,
    message:
      `${input.what} of run ${input.runId} acked without effect: ` +
      `run ${input.currentRunId} is the current run of ${input.partition}`,
  });
}
