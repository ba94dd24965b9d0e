import { supersedingRun, SupersededError } from '../orchestration/generation.ts';
import type { Clock } from '../ports/clock.ts';
import { chunk, MAX_BATCH_WRITES, type DocumentStore } from '../ports/store.ts';
import { COLLECTIONS } from './collections.ts';
import type { DomainDoc } from './processor.ts';

/**
 * Stamps, writes and remembers what a processor wrote, so the runtime can verify it. Each batch is a
 * transaction that reads the partition's run lock: a run superseded before the commit writes nothing
 * (SupersededError), so an old run never restamps the documents of a newer one. Firestore keeps
 * this exact: the newer run's start writes the lock, and a transaction that read it is retried.
 */
export function createWriter(store: DocumentStore, run: { runId: string; partition: string }, clock: Clock) {
  const written = new Map<string, Set<string>>();
  return {
    written: written as ReadonlyMap<string, ReadonlySet<string>>,
    write: async (
      collection: string,
      docs: readonly DomainDoc[],
      options: { merge?: boolean } = {},
    ): Promise<number> => {
      const updatedAt = clock.now().toISOString();
      for (const part of chunk(docs, MAX_BATCH_WRITES)) {
        await store.transaction(async (tx) => {
          const current = supersedingRun(await tx.get(COLLECTIONS.runLocks, run.partition), run.runId);
          if (current) throw new SupersededError(run.runId, current);
          for (const d of part)
            tx.set(
              collection,
              d.id,
              { ...d.data, runId: run.runId, updatedAt },
              { merge: options.merge ?? false },
            );
        });
      }
      const ids = written.get(collection) ?? new Set<string>();
      for (const d of docs) ids.add(d.id);
      written.set(collection, ids);
      return docs.length;
    },
  };
}
