import { MAX_BATCH_WRITES, type DocWrite, type DocumentStore } from '../../shared/ports/store.ts';

/** Writes documents in batches of 500, `concurrency` batches at a time; how many it wrote. */
export async function writeConcurrently(
  store: DocumentStore,
  docs: Iterable<DocWrite>,
  concurrency: number,
  onBatch?: (written: { documents: number; batches: number }) => void,
): Promise<{ documents: number; batches: number }> {
  const source = docs[Symbol.iterator]();
  let documents = 0;
  let batches = 0;
  const nextBatch = (): DocWrite[] => {
    const batch: DocWrite[] = [];
    for (let next = source.next(); !next.done; next = source.next()) {
      batch.push(next.value);
      if (batch.length === MAX_BATCH_WRITES) break;
    }
    return batch;
  };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let batch = nextBatch(); batch.length > 0; batch = nextBatch()) {
        await store.writeBatch(batch);
        documents += batch.length;
        batches += 1;
        onBatch?.({ documents, batches });
      }
    }),
  );
  return { documents, batches };
}
