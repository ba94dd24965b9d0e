import type { Publisher } from '../ports/publisher.ts';
import type { DocumentStore, Transaction } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';

export interface OutboxEntry {
  /** Deterministic: the decision and the message's own identity (a requestId). */
  id: string;
  /** The decision it belongs to (`{runId}_{phaseId}`): flushed again whenever that decision is seen. */
  decisionId: string;
  runId: string;
  topic: string;
  message: Record<string, unknown>;
  attributes: Record<string, string>;
  status: 'pending' | 'sent';
  createdAt: string;
  sentAt: string | null;
}

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
    pending.map(async (doc) => {
      if (
        !(await store.create(COLLECTIONS.outboxSends, doc.id, {
          entryId: doc.id,
          sender,
          at: now().toISOString(),
        }))
      ) {
        const claim = await store.get(COLLECTIONS.outboxSends, doc.id);
        if (claim && claim.sender !== sender) return 0;
      }
      const entry = doc.data as unknown as OutboxEntry;
      await publisher.publish(entry.topic, entry.message, entry.attributes);
      await store.set(
        COLLECTIONS.outbox,
        doc.id,
        { status: 'sent', sentAt: now().toISOString() },
        { merge: true },
      );
      return 1;
    }),
  );
  return sent.reduce<number>((a, b) => a + b, 0);
}
