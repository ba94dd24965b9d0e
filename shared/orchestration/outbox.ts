import type { Publisher } from '../ports/publisher.ts';
import { z } from 'zod';
import type { DocumentStore, StoredDoc, Transaction } from '../ports/store.ts';
import { parseEach } from '../store/parse-document.ts';
import { COLLECTIONS } from '../runtime/collections.ts';

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
  status: z.enum(['pending', 'sent']),
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

export function addToOutbox(tx: Transaction, entry: OutboxEntry): void {
  tx.set(COLLECTIONS.outbox, entry.id, { ...entry });
}

/**
 * Publishes the pending entries of a decision that `sender` decided, and marks them sent. Deliveries
 * flushing the same decision at once (duplicate messages) do not both publish: only the message the
 * decision names sends, and a redelivery of it sends again. A crash anywhere loses nothing: the
 * entry stays pending, the sender's message is redelivered, and the reconciler re-sends what is still
 * pending after its grace period; the receiver absorbs a duplicate by requestId.
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
  const mine = parseOutboxEntries(pending).filter((e) => e.sender === undefined || e.sender === sender);
  return sendOutboxEntries(store, publisher, mine, now);
}

/**
 * Publishes entries its caller just decided (the decision's commit wrote them, naming it their
 * sender: nothing to query) and marks each sent: what the reconciler would otherwise re-send.
 */
export async function sendOutboxEntries(
  store: DocumentStore,
  publisher: Publisher,
  entries: readonly OutboxEntry[],
  now: () => Date,
): Promise<number> {
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
