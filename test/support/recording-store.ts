import type { DocumentStore, Filter, QueryOptions } from '../../shared/ports/store.ts';
import type { MemoryStore } from '../../shared/testing/memory-store.ts';

/**
 * The store, recording each query (its collection and how many documents it returned) and the
 * filters of each count; everything else is the store's own. For tests that bound what is read.
 */
export function recordingQueries(store: MemoryStore) {
  const queries: { collection: string; returned: number }[] = [];
  const counts: Filter[][] = [];
  const wrapped = Object.assign(Object.create(store) as MemoryStore, {
    query: async (collection: string, options?: QueryOptions) => {
      const docs = await store.query(collection, options);
      queries.push({ collection, returned: docs.length });
      return docs;
    },
    countWhere: (collection: string, filters: readonly Filter[]) => {
      counts.push([...filters]);
      return store.countWhere(collection, filters);
    },
  });
  return {
    store: wrapped as DocumentStore,
    queries,
    counts,
    /** The documents the queries of `collection` returned, in all. */
    read: (collection: string) =>
      queries.filter((q) => q.collection === collection).reduce((sum, q) => sum + q.returned, 0),
  };
}
