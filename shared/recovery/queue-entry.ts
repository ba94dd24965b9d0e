import type { DocData, Transaction } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import type { QueueStatus } from '../runtime/failure-queue.ts';

/** `failed_processor_queue/{entryId}` as the recovery code reads it. */
export interface QueueEntry {
  requestId: string;
  status: QueueStatus;
  errorType: string;
  errorReason: string;
  lastError: string;
  needsManualFix: boolean;
  runId: string | null;
  partition: string | null;
  phase: string;
  processor: string | null;
  /** The ProcessorRequest to re-publish, when the entry is a processor's. */
  request: Record<string, unknown> | null;
  /** For entries that are not a processor's (the orchestrator's DLQ): what to re-publish where. */
  retryTarget?: { topic: string; message: unknown } | null;
  failureEventId: string | null;
  firstFailedAt: string;
  occurrences?: number;
  /** Automatic and manual retries of a failure: at most the queue's maxRetries automatic ones. */
  retryCount: number;
  /** Times the source was asked again while the entry was waiting for it (not retries: no limit but the deadline). */
  waitChecks?: number;
  /** Its re-run completed; the entry waits for its phase's gate (closed on a pass, counted on a failure). */
  awaitingGate?: boolean;
  /** Set when a person resolved it (`queue resolve`): a gate never re-opens such an entry. */
  resolvedAt?: string;
  /** What the last automatic claim was: a retry, or a source check of a waiting entry. */
  lastClaim?: 'retry' | 'source_check';
  nextRetryAt: string | null;
  deadlineAt: string | null;
  /** A wait on this pipeline's own earlier partitions: which ones (null otherwise). */
  waitingForPartitions?: string[] | null;
  /** The runs of those partitions when the dependency pump last resumed it: it resumes once per state. */
  dependencyResumeKey?: string | null;
  deliveryCount?: number | null;
  note?: string | null;
}

export const asEntry = (data: DocData | undefined): QueueEntry | undefined => data as QueueEntry | undefined;

/** Every queue transition is an event linked (parentEventId) to the failure it answers. */
export function recordTransition(
  tx: Transaction,
  input: {
    entry: QueueEntry;
    type: string;
    at: string;
    from: QueueStatus;
    to: QueueStatus;
    message?: string;
    extra?: DocData;
  },
): string {
  const eventId = `${input.entry.requestId}--q${input.entry.retryCount}--${input.type}--${input.at}`;
  tx.set(COLLECTIONS.events, eventId, {
    eventId,
    type: input.type,
    at: input.at,
    runId: input.entry.runId,
    requestId: input.entry.requestId,
    partition: input.entry.partition,
    phase: input.entry.phase,
    processor: input.entry.processor,
    attempt: null,
    triggerSource: null,
    traceparent: null,
    parentEventId: input.entry.failureEventId,
    from: input.from,
    to: input.to,
    message: input.message ?? null,
    ...input.extra,
  });
  return eventId;
}
