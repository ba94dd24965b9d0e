import { createIndexGuard, type FirestoreIndex } from '../store/indexes.ts';
import { mergeMaps } from '../store/merge-maps.ts';
import { declaredIndexes } from '../adapters/declared-indexes.ts';
import {
  checkCreateWith,
  checkPaging,
  type DocData,
  type DocRef,
  type DocWrite,
  type DocumentStore,
  type Filter,
  type QueryOptions,
  type StoredDoc,
} from '../ports/store.ts';

/**
 * Firestore compares a timestamp (a Date here) by its instant, and a range filter matches values of
 * the filter's own type only: a null, a string or a missing field is never `<=` a timestamp.
 */
function comparable(value: unknown, wanted: unknown): [string | number, string | number] | null {
  if (value instanceof Date || wanted instanceof Date)
    return value instanceof Date && wanted instanceof Date ? [value.getTime(), wanted.getTime()] : null;
  if (value === undefined || value === null) return null;
  return [value as string | number, wanted as string | number];
}

function matches(data: DocData, filter: Filter): boolean {
  const value = data[filter.field];
  const pair = comparable(value, filter.value);
  switch (filter.op) {
    case '==':
      return pair && value instanceof Date ? pair[0] === pair[1] : value === filter.value;
    case 'in':
      return Array.isArray(filter.value) && (filter.value as unknown[]).includes(value);
    case '<':
      return pair !== null && pair[0] < pair[1];
    case '<=':
      return pair !== null && pair[0] <= pair[1];
    case '>':
      return pair !== null && pair[0] > pair[1];
    case '>=':
      return pair !== null && pair[0] >= pair[1];
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

  /** All or nothing, as a Firestore commit: every write is checked before any is applied (`null` deletes). */
  private commit(writes: readonly (readonly [string, string, DocData | null, boolean])[]): void {
    for (const [c, id, d, merge] of writes) {
      const existing = this.collections.get(c)?.get(id);
      if (d) checkFirestoreLimits(c, id, merge && existing ? mergeMaps(existing, d) : d);
    }
    for (const [c, id, d, merge] of writes) {
      if (d) this.write(c, id, d, merge);
      else this.collections.get(c)?.delete(id);
    }
  }

  private write(collection: string, id: string, data: DocData, merge: boolean): void {
    const table = this.table(collection);
    const existing = table.get(id);
    const next = merge && existing ? mergeMaps(existing, data) : data;
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
  async createWith(doc: DocWrite, alongside: readonly DocWrite[]): Promise<boolean> {
    checkCreateWith(alongside);
    if (this.table(doc.collection).has(doc.id)) return false;
    this.commit([doc, ...alongside].map((w) => [w.collection, w.id, w.data, w.merge ?? false] as const));
    return true;
  }

  /** As Firestore's update: each key a field path (a map on the way is created, or replaces a non-map). */
  // eslint-disable-next-line @typescript-eslint/require-await
  async update(collection: string, id: string, fields: DocData): Promise<boolean> {
    const existing = this.collections.get(collection)?.get(id);
    if (!existing) return false;
    const next = structuredClone(existing);
    for (const [path, value] of Object.entries(fields)) {
      const keys = path.split('.');
      let map: DocData = next;
      for (const key of keys.slice(0, -1)) {
        const inner = map[key];
        const child = inner && typeof inner === 'object' && !Array.isArray(inner) ? (inner as DocData) : {};
        map[key] = child;
        map = child;
      }
      map[keys.at(-1)!] = value;
    }
    this.write(collection, id, next, false);
    return true;
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
    if (options.byId) {
      const after = options.byId.after;
      docs = docs.filter((d) => after === undefined || d.id > after).sort((a, b) => (a.id < b.id ? -1 : 1));
    } else if (order) {
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
      checkPaging(collection, options);
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
      getAll: (refs: readonly DocRef[]) => Promise<(DocData | undefined)[]>;
      set: (c: string, id: string, d: DocData, o?: { merge?: boolean }) => void;
      delete: (c: string, id: string) => void;
    }) => Promise<T>,
  ): Promise<T> {
    const run = this.queue.then(async () => {
      const pending: [string, string, DocData | null, boolean][] = [];
      // As Firestore: "Firestore transactions require all reads to be executed before all writes."
      const read = (c: string, id: string) =>
        pending.length > 0
          ? Promise.reject(
              new Error('Firestore transactions require all reads to be executed before all writes.'),
            )
          : this.get(c, id);
      const result = await fn({
        get: read,
        getAll: (refs) => Promise.all(refs.map((r) => read(r.collection, r.id))),
        set: (c, id, d, o) => {
          pending.push([c, id, d, o?.merge ?? false]);
        },
        delete: (c, id) => {
          pending.push([c, id, null, false]);
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
