import { createIndexGuard, type FirestoreIndex } from '../store/indexes.ts';
import { declaredIndexes } from '../adapters/declared-indexes.ts';
import type { DocData, DocumentStore, Filter, QueryOptions, StoredDoc } from '../ports/store.ts';

function matches(data: DocData, filter: Filter): boolean {
  const value = data[filter.field];
  const wanted = filter.value as string | number;
  switch (filter.op) {
    case '==':
      return value === filter.value;
    case 'in':
      return Array.isArray(filter.value) && (filter.value as unknown[]).includes(value);
    case '<':
      return value !== undefined && (value as string | number) < wanted;
    case '<=':
      return value !== undefined && (value as string | number) <= wanted;
    case '>':
      return value !== undefined && (value as string | number) > wanted;
    case '>=':
      return value !== undefined && (value as string | number) >= wanted;
  }
}

/** An in-memory DocumentStore with Firestore's semantics where the kit relies on them. */
/** Firestore's largest document (`size` as Firestore counts it is close to its JSON length). */
export const MAX_DOCUMENT_BYTES = 1_048_576;

/**
 * What Firestore refuses, refused here too, with its words: a document id that is a path, and a
 * document over 1 MiB (INVALID_ARGUMENT, gRPC code 3).
 */
function checkFirestoreLimits(collection: string, id: string, data: DocData): void {
  if (
    id === '' ||
    id.includes('/') ||
    id === '.' ||
    id === '..' ||
    /^__.*__$/.test(id) ||
    Buffer.byteLength(id) > 1500
  ) {
    throw new Error(
      `Value for argument "documentPath" must point to a document, but was "${collection}/${id}". Your path does not ` +
        `contain an even number of components.`,
    );
  }
  const bytes = Buffer.byteLength(JSON.stringify(data));
  if (bytes > MAX_DOCUMENT_BYTES) {
    throw Object.assign(
      new Error(
        `3 INVALID_ARGUMENT: Document "${collection}/${id}" cannot be written because its size (${bytes} bytes) ` +
          `exceeds the maximum allowed size of ${MAX_DOCUMENT_BYTES} bytes.`,
      ),
      { code: 3 },
    );
  }
}

export class MemoryStore implements DocumentStore {
  readonly collections = new Map<string, Map<string, DocData>>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly guard: (collection: string, options: QueryOptions) => void;

  /** Like production, it refuses a query that no declared composite index serves. */
  constructor(options: { indexes?: readonly FirestoreIndex[] } = {}) {
    this.guard = createIndexGuard(options.indexes ?? declaredIndexes());
  }

  private table(collection: string): Map<string, DocData> {
    let table = this.collections.get(collection);
    if (!table) {
      table = new Map();
      this.collections.set(collection, table);
    }
    return table;
  }

  /** All or nothing, as a Firestore commit: every write is checked before any is applied. */
  private commit(writes: readonly (readonly [string, string, DocData, boolean])[]): void {
    for (const [c, id, d, merge] of writes) {
      const existing = this.collections.get(c)?.get(id);
      checkFirestoreLimits(c, id, merge && existing ? { ...existing, ...d } : d);
    }
    for (const [c, id, d, merge] of writes) this.write(c, id, d, merge);
  }

  private write(collection: string, id: string, data: DocData, merge: boolean): void {
    const table = this.table(collection);
    const existing = table.get(id);
    const next = merge && existing ? { ...existing, ...data } : data;
    checkFirestoreLimits(collection, id, next);
    table.set(id, structuredClone(next));
  }

  get(collection: string, id: string): Promise<DocData | undefined> {
    const found = this.collections.get(collection)?.get(id);
    return Promise.resolve(found ? structuredClone(found) : undefined);
  }

  async getMany(collection: string, ids: readonly string[]): Promise<(DocData | undefined)[]> {
    return Promise.all(ids.map((id) => this.get(collection, id)));
  }

  // async: a refused write is a rejected promise, as every other failure of the port.
  // eslint-disable-next-line @typescript-eslint/require-await
  async set(collection: string, id: string, data: DocData, options?: { merge?: boolean }): Promise<void> {
    this.write(collection, id, data, options?.merge ?? false);
  }

  create(collection: string, id: string, data: DocData): Promise<boolean> {
    if (this.table(collection).has(id)) return Promise.resolve(false);
    this.write(collection, id, data, false);
    return Promise.resolve(true);
  }

  // eslint-disable-next-line @typescript-eslint/require-await
  async writeBatch(
    writes: readonly { collection: string; id: string; data: DocData; merge?: boolean }[],
  ): Promise<void> {
    this.commit(writes.map((w) => [w.collection, w.id, w.data, w.merge ?? false] as const));
  }

  async countWhere(collection: string, filters: readonly Filter[]): Promise<number> {
    return (await this.query(collection, { filters: [...filters] })).length;
  }

  query(collection: string, options: QueryOptions = {}): Promise<StoredDoc[]> {
    const refused = this.refusal(collection, options);
    if (refused) return Promise.reject(refused);
    let docs = [...(this.collections.get(collection) ?? new Map<string, DocData>()).entries()]
      .filter(([, data]) => (options.filters ?? []).every((f) => matches(data, f)))
      .map(([id, data]): StoredDoc => ({ id, data: structuredClone(data) }));
    const order = options.orderBy;
    if (order) {
      const sign = order.direction === 'desc' ? -1 : 1;
      docs = docs.sort((a, b) => {
        const x = a.data[order.field] as string | number;
        const y = b.data[order.field] as string | number;
        return x < y ? -sign : x > y ? sign : 0;
      });
    }
    return Promise.resolve(options.limit === undefined ? docs : docs.slice(0, options.limit));
  }

  private refusal(collection: string, options: QueryOptions): Error | null {
    try {
      this.guard(collection, options);
      return null;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  /** Transactions run one at a time: exactly serialisable. */
  transaction<T>(
    fn: (tx: {
      get: MemoryStore['get'];
      set: (c: string, id: string, d: DocData, o?: { merge?: boolean }) => void;
    }) => Promise<T>,
  ): Promise<T> {
    const run = this.queue.then(async () => {
      const pending: [string, string, DocData, boolean][] = [];
      const result = await fn({
        // As Firestore: "Firestore transactions require all reads to be executed before all writes."
        get: (c, id) =>
          pending.length > 0
            ? Promise.reject(
                new Error('Firestore transactions require all reads to be executed before all writes.'),
              )
            : this.get(c, id),
        set: (c, id, d, o) => {
          pending.push([c, id, d, o?.merge ?? false]);
        },
      });
      this.commit(pending);
      return result;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  docs(collection: string): DocData[] {
    return [...(this.collections.get(collection)?.values() ?? [])].map((d) => structuredClone(d));
  }
}
