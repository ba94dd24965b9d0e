import type { Clock } from '../ports/clock.ts';
import type { DocumentStore } from '../ports/store.ts';
import type { DomainDoc } from './processor.ts';

/** Stamps, batches and remembers what a processor wrote, so the runtime can verify it. */
export function createWriter(store: DocumentStore, runId: string, clock: Clock) {
  const written = new Map<string, Set<string>>();
  return {
    written: written as ReadonlyMap<string, ReadonlySet<string>>,
    write: async (collection: string, docs: readonly DomainDoc[], options: { merge?: boolean } = {}): Promise<number> => {
      const updatedAt = clock.now().toISOString();
      await store.writeBatch(docs.map((d) => ({ collection, id: d.id, data: { ...d.data, runId, updatedAt }, merge: options.merge ?? false })));
      const ids = written.get(collection) ?? new Set<string>();
      for (const d of docs) ids.add(d.id);
      written.set(collection, ids);
      return docs.length;
    },
  };
}
