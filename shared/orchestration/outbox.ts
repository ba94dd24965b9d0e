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
});
export type OutboxEntry = z.infer<typeof OutboxEntrySchema>;

/** Outbox entries a query returned, each parsed. */
export const parseOutboxEntries = (docs: readonly StoredDoc[]): OutboxEntry[] =>
  parseEach(OutboxEntrySchema, COLLECTIONS.outbox, docs);

export function addToOutbox(tx: Transaction, entry: OutboxEntry): void {
  tx.set(COLLECTIONS.outbox, entry.id, { ...entry });
}

/**
 * Publishes the pending entries of a decision and marks them sent. Deliveries flushing the same
 * decision at once (duplicate messages) do not both publish: each entry is sent by the message
 * that creates its send claim (`sender`, a Pub/Sub message id); a redelivery of that message
 * sends it again. A crash anywhere loses nothing: the entry stays pending, the sender's message
 * is redelivered, and the reconciler re-sends what is still pending after its grace period; the
 * receiver absorbs a duplicate by requestId.
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
  const sent = await Promise.all(
    parseOutboxEntries(pending).map(async (entry) => {
      if (
        !(await store.create(COLLECTIONS.outboxSends, entry.id, {
          entryId: entry.id,
          sender,
          at: now().toISOString(),
        }))
      ) {
        const claim = await store.get(COLLECTIONS.outboxSends, entry.id);
        if (claim && claim.sender !== sender) return 0;
      }
      await publisher.publish(entry.topic, entry.message, entry.attributes);
      await store.set(
        COLLECTIONS.outbox,
        entry.id,
        { status: 'sent', sentAt: now().toISOString() },
        { merge: true },
      );
      return 1;
    }),
  );
  return sent.reduce<number>((a, b) => a + b, 0);
}
