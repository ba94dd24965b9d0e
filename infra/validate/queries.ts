import { unsentOutboxQuery } from '../../shared/orchestration/outbox.ts';
import { dueEntriesQuery } from '../../shared/recovery/auto-retry.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { compositeIndexFor, type FirestoreIndex } from '../../shared/store/indexes.ts';

/**
 * The kit's queries that combine a range or an order with another field: the very functions the
 * code queries with. Any other such query is refused by the index guard of the in-memory store
 * and of the emulator adapter, so a test fails before production does.
 */
export function requiredIndexes(): FirestoreIndex[] {
  const queries = [
    { collection: COLLECTIONS.queue, options: dueEntriesQuery('2000-01-01T00:00:00.000Z', 1) },
    { collection: COLLECTIONS.outbox, options: unsentOutboxQuery('2000-01-01T00:00:00.000Z') },
  ];
  return queries.flatMap(({ collection, options }) => {
    const needed = compositeIndexFor(collection, options);
    if (!needed) return [];
    const { equalityFields, ...index } = needed;
    void equalityFields;
    return [index];
  });
}
