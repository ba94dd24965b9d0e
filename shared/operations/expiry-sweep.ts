import type { DocumentStore, QueryOptions } from '../ports/store.ts';
import { EXPIRES_AT, expiryMillis, TTL_COLLECTIONS, type TtlCollection } from '../store/retention.ts';

/**
 * Documents deleted per collection and tick, at most: one transaction each, well inside Firestore's
 * 500 writes. A backlog drains over the following ticks.
 */
export const SWEEP_LIMIT = 200;

/** The expired documents of a collection, oldest first: one field, so no composite index. */
export const expiredQuery = (now: Date, limit = SWEEP_LIMIT): QueryOptions => ({
  filters: [{ field: EXPIRES_AT, op: '<=', value: now }],
  orderBy: { field: EXPIRES_AT },
  limit,
});

/**
 * What Firestore's TTL policies do in production, for a store that has none (the emulator, the
 * in-memory store): deletes the bookkeeping documents whose `expiresAt` has passed. Each is read
 * again in the deleting transaction and kept if it was written meanwhile (a retried attempt restamps
 * its record). Returns how many documents each collection lost.
 */
export async function sweepExpired(
  store: DocumentStore,
  now: Date,
  limit = SWEEP_LIMIT,
): Promise<Partial<Record<TtlCollection, number>>> {
  const swept: Partial<Record<TtlCollection, number>> = {};
  const expired = (data: Record<string, unknown> | undefined) => {
    const at = expiryMillis(data?.[EXPIRES_AT]);
    return at !== null && at <= now.getTime();
  };
  for (const collection of TTL_COLLECTIONS) {
    const due = await store.query(collection, expiredQuery(now, limit));
    if (due.length === 0) continue;
    const deleted = await store.transaction(async (tx) => {
      const current = await tx.getAll(due.map((d) => ({ collection, id: d.id })));
      const still = due.filter((_, i) => expired(current[i]));
      for (const d of still) tx.delete(collection, d.id);
      return still.length;
    });
    if (deleted > 0) swept[collection] = deleted;
  }
  return swept;
}
