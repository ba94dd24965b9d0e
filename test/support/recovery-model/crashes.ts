import type { Logger } from '../../../shared/ports/logger.ts';
import type { DocumentStore } from '../../../shared/ports/store.ts';
import type { MemoryStore } from '../../../shared/testing/memory-store.ts';

export class Crash extends Error {
  override readonly name = 'Crash';
}

/** A scheduled job, a CLI command: an injected outage fails it (it runs again later); anything else is a bug. */
export async function job(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    if (
      !(error instanceof Crash) &&
      !(error instanceof Error && /injected publish failure/.test(error.message))
    )
      throw error;
  }
}

export const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

/** The store the pipeline writes through: `crashAfter(n)` lets `n` writes through, then crashes the next. */
export function crashingStore(memory: MemoryStore) {
  let crashIn: number | null = null;
  const maybeCrash = () => {
    if (crashIn === null) return;
    if (crashIn === 0) {
      crashIn = null;
      throw new Crash('process crashed before this write');
    }
    crashIn -= 1;
  };
  // A crash can come before any write: the handler stops there and its message is redelivered.
  const store: DocumentStore = {
    get: (c, id) => memory.get(c, id),
    getMany: (c, ids) => memory.getMany(c, ids),
    countWhere: (c, f) => memory.countWhere(c, f),
    query: (c, o) => memory.query(c, o),
    set: async (c, id, d, o) => (maybeCrash(), memory.set(c, id, d, o)),
    create: async (c, id, d) => (maybeCrash(), memory.create(c, id, d)),
    createWith: async (doc, alongside) => (maybeCrash(), memory.createWith(doc, alongside)),
    update: async (c, id, f) => (maybeCrash(), memory.update(c, id, f)),
    writeBatch: async (w) => (maybeCrash(), memory.writeBatch(w)),
    transaction: async (fn) => (maybeCrash(), memory.transaction(fn)),
  };
  return { store, crashAfter: (writes: number | null) => void (crashIn = writes) };
}
