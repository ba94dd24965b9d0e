import type { Publisher } from '../ports/publisher.ts';
import { z } from 'zod';
import type { DocumentStore, QueryOptions, StoredDoc, Transaction } from '../ports/store.ts';
import { parseEach } from '../store/parse-document.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { isPaused } from './pause-state.ts';

/** `outbox/{id}`: a message decided in a transaction, re-sent until published. */
export const OutboxEntrySchema = z.looseObject({
  /** Deterministic: the decision and the message's own identity (a requestId). */
  id: z.string().min(1),
  /** The decision it belongs to (`{runId}_{phaseId}`): flushed again whenever that decision is seen. */
  decisionId: z.string().min(1),
  runId: z.string(),
  topic: z.string().min(1),
  message: z.record(z.string(), z.unknown()),
  attributes: z.record(z.string(), z.string()),
  /** `withdrawn`: its run was cancelled before it was sent (operations/cancel-run.ts). */
  status: z.enum(['pending', 'sent', 'withdrawn']),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
  /**
   * The message whose handler decided it, and so sends it (a Pub/Sub message id; a stall re-drive's
   * own id): a redelivery of that message sends it again, a duplicate delivery of another does not.
   * Absent on an entry written before senders were recorded: whoever flushes it sends it.
   */
  sender: z.string().min(1).optional(),
});
export type OutboxEntry = z.infer<typeof OutboxEntrySchema>;

/** Outbox entries a query returned, each parsed. */
export const parseOutboxEntries = (docs: readonly StoredDoc[]): OutboxEntry[] =>
  parseEach(OutboxEntrySchema, COLLECTIONS.outbox, docs);

/**
 * Outbox entries still pending at the cutoff (500 at most). Needs the composite index (status,
 * createdAt): `validate` checks it is declared.
 */
export function unsentOutboxQuery(cutoffIso: string): QueryOptions {
  return {
    filters: [
      { field: 'status', op: '==', value: 'pending' },
      { field: 'createdAt', op: '<=', value: cutoffIso },
    ],
    limit: 500,
  };
}

export function addToOutbox(tx: Transaction, entry: OutboxEntry): void {
  tx.set(COLLECTIONS.outbox, entry.id, { ...entry });
}

/**
 * An entry its sender has not sent this long after the decision was left behind (the sender crashed,
 * or was dead-lettered and retried as a new message): whoever flushes its decision sends it, without
 * waiting for the reconciler. Duplicates of one message arrive within about a second of each other.
 */
export const ORPHANED_AFTER_MS = 10_000;

/**
 * Publishes the pending entries of a decision that `sender` decided, and marks them sent. Deliveries
 * flushing the same decision at once (duplicate messages) do not both publish: only the message the
 * decision names sends, and a redelivery of it sends again; an entry left pending past
 * {@link ORPHANED_AFTER_MS} any delivery sends. A crash anywhere loses nothing: the entry stays
 * pending, the sender's message is redelivered, and the reconciler re-sends what is still pending
 * after its grace period; the receiver absorbs a duplicate by requestId.
 */
export async function flushOutbox(
  store: DocumentStore,
  publisher: Publisher,
  decisionId: string,
  now: () => Date,
  sender: string,
): Promise<number> {
  const pending = await store.query(COLLECTIONS.outbox, {
    filters: [
      { field: 'decisionId', op: '==', value: decisionId },
      { field: 'status', op: '==', value: 'pending' },
    ],
  });
  const orphanedBefore = new Date(now().getTime() - ORPHANED_AFTER_MS).toISOString();
  const mine = parseOutboxEntries(pending).filter(
    (e) => e.sender === undefined || e.sender === sender || e.createdAt <= orphanedBefore,
  );
  return sendOutboxEntries(store, publisher, mine, now);
}

/**
 * Publishes entries its caller just decided (the decision's commit wrote them, naming it their
 * sender: nothing to query) and marks each sent: what the reconciler would otherwise re-send.
 * While an operator has paused the pipeline it sends nothing: the entries stay pending, held
 * until the resume releases them (operations/pause.ts), which sends `evenIfPaused`.
 */
export async function sendOutboxEntries(
  store: DocumentStore,
  publisher: Publisher,
  entries: readonly OutboxEntry[],
  now: () => Date,
  options: { evenIfPaused?: boolean } = {},
): Promise<number> {
  if (entries.length === 0) return 0;
  if (!options.evenIfPaused && (await isPaused(store))) return 0;
  await Promise.all(
    entries.map(async (entry) => {
      await publisher.publish(entry.topic, entry.message, entry.attributes);
      await store.set(
        COLLECTIONS.outbox,
        entry.id,
        { status: 'sent', sentAt: now().toISOString() },
        { merge: true },
      );
    }),
  );
  return entries.length;
}
