import { isCancelledRun, supersedingRun } from '../orchestration/generation.ts';
import { createHash } from 'node:crypto';
import type { Classification } from '../errors/classify.ts';
import type { ErrorDescription } from '../errors/describe.ts';
import type { ProcessorRequest } from '../messages/messages.ts';
import type { DocumentStore } from '../ports/store.ts';
import { COLLECTIONS } from './collections.ts';
import { newQueueEntry, readEntryForRewrite } from '../recovery/queue-entry.ts';

import type { QueueStatus } from '../recovery/queue-status.ts';

/** The Pub/Sub message as it arrived, so a person or a retry can replay it exactly. */
export interface OriginalMessage {
  messageId: string;
  /** base64, as delivered. */
  data: string | null;
  attributes: Record<string, string>;
  subscription: string | null;
}

/** Base64 characters of a message kept whole in its queue entry (a Pub/Sub message may be 10 MB, a document 1 MiB). */
export const MAX_STORED_DATA_CHARS = 64 * 1024;

/** A message as stored: whole when small; else its first bytes, its size and its sha256, so nothing refuses the write. */
export type StoredMessage = OriginalMessage & { truncated?: true; dataBytes?: number; dataSha256?: string };

export function storedMessage(original: OriginalMessage): StoredMessage {
  if (original.data === null || original.data.length <= MAX_STORED_DATA_CHARS) return original;
  const bytes = Buffer.from(original.data, 'base64');
  return {
    ...original,
    data: original.data.slice(0, MAX_STORED_DATA_CHARS),
    truncated: true,
    dataBytes: bytes.length,
    dataSha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

export interface FailureRecord {
  /** The request's id, or `msg-<messageId>` for a payload that never parsed. */
  entryId: string;
  status: Extract<QueueStatus, 'waiting' | 'failed_permanent'>;
  classification: Classification;
  error: ErrorDescription;
  request: ProcessorRequest | null;
  phase: string;
  original: OriginalMessage;
  failureEventId: string;
  /** For `waiting`: when the source is next worth asking. */
  nextRetryAt: string | null;
  /** For `waiting`: after this the entry is failed_permanent. */
  deadlineAt: string | null;
  /** The partition it was for, when there is no request to say so (a run request refused). */
  partition?: string | null;
  /** For a wait on this pipeline's own earlier partitions: which ones. */
  waitingForPartitions?: readonly string[];
}

/**
 * Writes (or updates) the durable queue entry for a failure that will not be redelivered.
 * Transactional so a duplicate delivery counts an occurrence instead of resetting history.
 * If this throws, the caller must throw too: the message is then redelivered, not lost.
 */
export async function recordFailure(
  store: DocumentStore,
  record: FailureRecord,
  now: Date,
  attempt?: number,
): Promise<FailureRecord['status'] | 'superseded'> {
  return store.transaction(async (tx) => {
    // The attempt that failed must still be the request's current one, in this same transaction:
    // a newer attempt that began or completed meanwhile owns the outcome.
    if (attempt !== undefined && record.request) {
      const run = await tx.get(COLLECTIONS.processorRuns, record.request.requestId);
      if (run && ((typeof run.attempts === 'number' && run.attempts > attempt) || run.status === 'completed'))
        return 'superseded';
      // A newer run took the partition while this attempt ran, or an operator cancelled the run: its
      // failure is not the partition's, and nothing should retry it.
      const lock = await tx.get(COLLECTIONS.runLocks, record.request.partition);
      if (supersedingRun(lock, record.request.runId) || isCancelledRun(lock, record.request.runId))
        return 'superseded';
    }
    const { existing, replaced } = await readEntryForRewrite(tx, record.entryId);
    const at = now.toISOString();
    const deadlineAt = existing?.deadlineAt ?? record.deadlineAt;
    // Still not published at the deadline: waiting ends, a person must look.
    const expired = record.status === 'waiting' && deadlineAt !== null && deadlineAt <= at;
    const status = expired ? 'failed_permanent' : record.status;
    const waitedFor = record.waitingForPartitions?.length
      ? 'earlier partitions still missing'
      : 'source still not published';
    const entry = {
      requestId: record.entryId,
      status,
      errorType: record.classification.kind,
      errorReason: record.classification.reason,
      errorName: record.error.name,
      lastError: expired
        ? `${waitedFor} at the deadline ${deadlineAt}: ${record.error.message}`
        : record.error.message,
      stack: record.error.stack,
      runId: record.request?.runId ?? null,
      partition: record.request?.partition ?? record.partition ?? null,
      phase: record.phase,
      processor: record.request?.processor ?? null,
      request: record.request,
      originalMessage: storedMessage(record.original),
      failureEventId: record.failureEventId,
      nextRetryAt: expired ? null : record.nextRetryAt,
      deadlineAt,
      waitingForPartitions: record.waitingForPartitions,
    };
    tx.set(COLLECTIONS.queue, record.entryId, newQueueEntry(entry, at, existing, replaced));
    return status;
  });
}
