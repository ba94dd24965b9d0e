import { PermanentError } from '../errors/errors.ts';
import type { ProcessorSpec } from '../definition/schema.ts';
import { supersedingRun, SupersededError } from '../orchestration/generation.ts';
import type { Clock } from '../ports/clock.ts';
import { MAX_BATCH_WRITES, type DocWrite, type DocumentStore } from '../ports/store.ts';
import { mergeMaps } from '../store/merge-maps.ts';
import { COLLECTIONS } from './collections.ts';
import type { DomainDoc } from './processor.ts';

export interface AttemptWriter {
  /** `ctx.write`: stamps the documents and stages them for {@link AttemptWriter.commit}. */
  write: (collection: string, docs: readonly DomainDoc[], options?: { merge?: boolean }) => Promise<number>;
  /** How many documents of each declared output the attempt wrote (the completion's `records`). */
  records(): Record<string, number>;
  /**
   * Commits what is staged with `alongside` (the attempt's completion record and its event) in one
   * transaction: the record never commits without the data, and a failed commit leaves neither.
   */
  commit(alongside: readonly DocWrite[]): Promise<void>;
}

/**
 * The writes of one attempt. `ctx.write` stages; the staged documents commit in transactions that
 * read the partition's run lock, so a run superseded before the commit writes nothing
 * (SupersededError) and an old run never restamps a newer one's documents (the newer run's start
 * writes the lock, and a transaction that read it is retried). What a processor writes commits at
 * the end, with its completion record; only a transaction's worth (500) commits earlier; a document
 * written a second time is folded into its staged write as Firestore would apply the two (a merge
 * merges maps, a set replaces); `store` reads during the run do not see it. A collection
 * the definition does not list among the processor's outputs is refused before anything of it is
 * staged: config and code disagree, and a person must decide (permanent).
 */
export function createWriter(
  store: DocumentStore,
  run: { runId: string; partition: string },
  spec: { name: ProcessorSpec['name']; outputs: readonly { collection: string }[] },
  clock: Clock,
): AttemptWriter {
  const declared = spec.outputs.map((o) => o.collection);
  const written = new Map<string, Set<string>>(declared.map((c) => [c, new Set<string>()]));
  let staged: DocWrite[] = [];
  /** Each staged document's position in `staged`. */
  const stagedKeys = new Map<string, number>();

  const commitLocked = (writes: readonly DocWrite[]) =>
    store.transaction(async (tx) => {
      const current = supersedingRun(await tx.get(COLLECTIONS.runLocks, run.partition), run.runId);
      if (current) throw new SupersededError(run.runId, current);
      for (const w of writes) tx.set(w.collection, w.id, w.data, { merge: w.merge ?? false });
    });
  const flush = async () => {
    const writes = staged;
    staged = [];
    stagedKeys.clear();
    if (writes.length > 0) await commitLocked(writes);
  };

  return {
    async write(collection, docs, options = {}) {
      const ids = written.get(collection);
      if (!ids) {
        throw new PermanentError(
          `processor "${spec.name}" wrote "${collection}", which the definition does not list among its ` +
            `outputs (${declared.join(', ') || 'none'})`,
        );
      }
      const updatedAt = clock.now().toISOString();
      for (const d of docs) {
        const key = `${collection}/${d.id}`;
        const write = { collection, id: d.id, data: { ...d.data, runId: run.runId, updatedAt } };
        const at = stagedKeys.get(key);
        if (at !== undefined) staged[at] = foldWrites(staged[at]!, write, options.merge ?? false);
        else {
          if (staged.length >= MAX_BATCH_WRITES) await flush();
          stagedKeys.set(key, staged.length);
          staged.push({ ...write, merge: options.merge ?? false });
        }
        ids.add(d.id);
      }
      return docs.length;
    },
    records: () => Object.fromEntries([...written].map(([collection, ids]) => [collection, ids.size])),
    async commit(alongside) {
      if (staged.length + alongside.length > MAX_BATCH_WRITES) await flush();
      const writes = [...staged, ...alongside];
      staged = [];
      stagedKeys.clear();
      await commitLocked(writes);
    },
  };
}

/**
 * One write with the effect of `first` then `then`: a set replaces the document; a merge merges its
 * maps into what is there, field by field, nested maps too (other values, arrays included, replace).
 */
function foldWrites(first: DocWrite, then: DocWrite, merge: boolean): DocWrite {
  if (!merge) return { ...then, merge: false };
  return { ...first, data: mergeMaps(first.data, then.data) };
}
