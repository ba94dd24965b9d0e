import { z } from 'zod';
import { ERROR_KINDS } from '../errors/classify.ts';
import type { QueueTransitionType } from '../events/pipeline-event.ts';
import { writeEvent } from '../events/write-event.ts';
import type { StoredDoc, Transaction } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { QUEUE_STATUSES, type QueueStatus } from './queue-status.ts';
import { type StoredMessage } from '../runtime/failure-queue.ts';
import {
  parseDocument,
  parseEach,
  parseOrPassOver,
  reportCorruptToStderr,
  tryParseDocument,
  type DocumentReader,
} from '../store/parse-document.ts';

/** `failed_processor_queue/{entryId}`, as every reader parses it. */
export const QueueEntrySchema = z.looseObject({
  requestId: z.string().min(1),
  status: z.enum(QUEUE_STATUSES),
  errorType: z.enum(ERROR_KINDS),
  errorReason: z.string(),
  lastError: z.string(),
  needsManualFix: z.boolean(),
  runId: z.string().nullable(),
  partition: z.string().nullable(),
  phase: z.string(),
  processor: z.string().nullable(),
  /** The ProcessorRequest to re-publish, when the entry is a processor's. */
  request: z.record(z.string(), z.unknown()).nullable(),
  /** For entries that are not a processor's (the orchestrator's DLQ): what to re-publish where. */
  retryTarget: z.object({ topic: z.string(), message: z.unknown() }).nullable().optional(),
  failureEventId: z.string().nullable(),
  firstFailedAt: z.string(),
  occurrences: z.number().int().optional(),
  /** Automatic and manual retries of a failure: at most the queue's maxRetries automatic ones. */
  retryCount: z.number().int().nonnegative(),
  /** Times the source was asked again while the entry was waiting for it (no limit but the deadline). */
  waitChecks: z.number().int().optional(),
  /** Its re-run completed; the entry waits for its phase's gate (closed on a pass, counted on a failure). */
  awaitingGate: z.boolean().optional(),
  /** Set when a person resolved it (`queue resolve`): a gate never re-opens such an entry. */
  resolvedAt: z.string().optional(),
  /** What the last automatic claim was: a retry, or a source check of a waiting entry. */
  lastClaim: z.enum(['retry', 'source_check']).optional(),
  nextRetryAt: z.string().nullable(),
  deadlineAt: z.string().nullable(),
  /** A wait on this pipeline's own earlier partitions: which ones (null otherwise). */
  waitingForPartitions: z.array(z.string()).nullable().optional(),
  /** The runs of those partitions when the dependency pump last resumed it: it resumes once per state. */
  dependencyResumeKey: z.string().nullable().optional(),
  deliveryCount: z.number().nullable().optional(),
  note: z.string().nullable().optional(),
});
export type QueueEntry = z.infer<typeof QueueEntrySchema>;

/** A queue entry read from the store, parsed (a corrupt one is an error naming the field). */
const parseEntry = (id: string, data: Record<string, unknown> | undefined): QueueEntry | undefined =>
  parseDocument(QueueEntrySchema, COLLECTIONS.queue, id, data);

/** Queue entries a query returned, each parsed; a corrupt one is reported and passed over. */
export const parseEntries = (docs: readonly StoredDoc[]): QueueEntry[] =>
  parseEach(QueueEntrySchema, COLLECTIONS.queue, docs);

/** For a person's action on one entry: a corrupt entry is an error naming its field. */
export const readEntry = async (reader: DocumentReader, id: string): Promise<QueueEntry | undefined> =>
  parseEntry(id, await reader.get(COLLECTIONS.queue, id));

/** For automatic steps that only act on a sound entry: a corrupt one is reported and left as it is. */
export const readEntryOrPassOver = async (
  reader: DocumentReader,
  id: string,
): Promise<QueueEntry | undefined> =>
  parseOrPassOver(QueueEntrySchema, COLLECTIONS.queue, id, await reader.get(COLLECTIONS.queue, id));

/** A corrupt entry a new failure replaced: kept inside the new entry, so nothing of it is lost. */
export interface ReplacedEntry {
  error: string;
  document: Record<string, unknown>;
}

/**
 * For a writer that records a failure over whatever entry there is: a corrupt entry is reported
 * and replaced (a failure must be recorded, or its message is redelivered for ever), its old
 * content kept in the new entry's `replacedCorruptEntry`.
 */
export async function readEntryForRewrite(
  reader: DocumentReader,
  id: string,
): Promise<{ existing: QueueEntry | undefined; replaced?: ReplacedEntry }> {
  const data = await reader.get(COLLECTIONS.queue, id);
  const { value, corrupt } = tryParseDocument(QueueEntrySchema, COLLECTIONS.queue, id, data);
  if (!corrupt || !data) return { existing: value };
  reportCorruptToStderr(corrupt);
  return { existing: undefined, replaced: { error: corrupt.message, document: data } };
}

/** What a new entry says about its failure; the rest is counted (see {@link newQueueEntry}). */
export interface NewQueueEntry {
  requestId: string;
  status: QueueStatus;
  errorType: QueueEntry['errorType'];
  errorReason: string;
  errorName: string;
  lastError: string;
  stack?: string | null;
  runId: string | null;
  partition: string | null;
  phase: string;
  processor: string | null;
  request: Record<string, unknown> | null;
  retryTarget?: { topic: string; message: unknown } | null;
  originalMessage?: StoredMessage | null;
  failureEventId: string | null;
  nextRetryAt: string | null;
  deadlineAt?: string | null;
  waitingForPartitions?: readonly string[] | null;
  deliveryCount?: number | null;
  /** When the failure began, if it began before this entry (the first failed attempt of a dead letter). */
  firstFailedAt?: string;
  /** Given to forget what the existing entry counted of source checks and dependency resumes. */
  waitChecks?: number;
  dependencyResumeKey?: string | null;
  /** Given to start the count again (a fresh failure of a closed entry); else the existing entry's. */
  retryCount?: number;
}

/**
 * The one shape of a queue entry document. A failure recorded again on an existing entry counts
 * an occurrence and keeps its history (first failure, retries, source checks, dependency resume);
 * `needsManualFix` follows from the status.
 */
export function newQueueEntry(
  input: NewQueueEntry,
  at: string,
  existing?: QueueEntry,
  replaced?: ReplacedEntry,
) {
  return {
    ...(replaced ? { replacedCorruptEntry: replaced } : {}),
    firstFailedAt: existing?.firstFailedAt ?? at,
    occurrences: (existing?.occurrences ?? 0) + 1,
    retryCount: existing?.retryCount ?? 0,
    waitChecks: existing?.waitChecks ?? 0,
    dependencyResumeKey: existing?.dependencyResumeKey ?? null,
    ...input,
    stack: input.stack ?? null,
    originalMessage: input.originalMessage ?? null,
    deadlineAt: input.deadlineAt ?? null,
    waitingForPartitions: input.waitingForPartitions?.length ? [...input.waitingForPartitions] : null,
    needsManualFix: input.status === 'failed_permanent',
    lastFailedAt: at,
    updatedAt: at,
  } satisfies QueueEntry;
}

/** Every queue transition is an event linked (parentEventId) to the failure it answers. */
export function recordTransition(
  tx: Transaction,
  input: {
    entry: QueueEntry;
    type: QueueTransitionType;
    at: string;
    from: QueueStatus;
    to: QueueStatus;
    message?: string;
    extra?: Record<string, unknown>;
  },
): string {
  return writeEvent(tx, {
    ...input.extra,
    eventId: `${input.entry.requestId}--q${input.entry.retryCount}--${input.type}--${input.at}`,
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
  });
}
