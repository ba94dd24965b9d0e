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
 * Publishes the pending entries of a decision and marks them sent. A crash between the
 * decision and here loses nothing: the entries stay pending and the next delivery (or the
 * reconciler) sends them; the receiver absorbs a duplicate by requestId.
 */
export async function flushOutbox(store: DocumentStore, publisher: Publisher, decisionId: string, now: () => Date): Promise<number> {
  const pending = await store.query(COLLECTIONS.outbox, { filters: [{ field: 'decisionId', op: '==', value: decisionId }, { field: 'status', op: '==', value: 'pending' }] });
  for (const doc of pending) {
    const entry = doc.data as unknown as OutboxEntry;
    await publisher.publish(entry.topic, entry.message, entry.attributes);
    await store.set(COLLECTIONS.outbox, doc.id, { status: 'sent', sentAt: now().toISOString() }, { merge: true });
  }
  return pending.length;
}
