import type { DocumentStore, Filter, QueryOptions } from '../ports/store.ts';
import { OPEN_STATUSES } from '../recovery/queue-policy.ts';
import { COLLECTIONS } from '../runtime/collections.ts';

const OPEN: Filter = { field: 'status', op: 'in', value: OPEN_STATUSES };

/**
 * The `limit` oldest open queue entries, through the composite index (status, firstFailedAt): the
 * closed entries of the history are never read, and however many are open, at most `limit` are.
 */
export function oldestOpenEntriesQuery(limit: number): QueryOptions {
  return { filters: [OPEN], orderBy: { field: 'firstFailedAt', direction: 'asc' }, limit };
}

/** How many queue entries are open: a count aggregation (Firestore bills one read per 1,000 matched). */
export function countOpenEntries(store: DocumentStore): Promise<number> {
  return store.countWhere(COLLECTIONS.queue, [OPEN]);
}
