/** Firestore as the kit uses it: small enough that an in-memory fake is exact. */

export type DocData = Record<string, unknown>;

export interface DocWrite {
  collection: string;
  id: string;
  data: DocData;
  /** Merge into an existing document instead of replacing it. */
  merge?: boolean;
}

export type FilterOp = '==' | '<' | '<=' | '>' | '>=' | 'in';
export interface Filter {
  field: string;
  op: FilterOp;
  value: unknown;
}

export interface QueryOptions {
  filters?: Filter[];
  orderBy?: { field: string; direction?: 'asc' | 'desc' };
  limit?: number;
}

export interface StoredDoc {
  id: string;
  data: DocData;
}

export interface Transaction {
  get(collection: string, id: string): Promise<DocData | undefined>;
  set(collection: string, id: string, data: DocData, options?: { merge?: boolean }): void;
}

export interface DocumentStore {
  get(collection: string, id: string): Promise<DocData | undefined>;
  getMany(collection: string, ids: readonly string[]): Promise<(DocData | undefined)[]>;
  set(collection: string, id: string, data: DocData, options?: { merge?: boolean }): Promise<void>;
  /** Writes the document only if it does not exist: true if this call created it. Never waits on a lock. */
  create(collection: string, id: string, data: DocData): Promise<boolean>;
  /** Batched writes, atomic per chunk of at most 500 (Firestore's batch limit). */
  writeBatch(writes: readonly DocWrite[]): Promise<void>;
  countWhere(collection: string, filters: readonly Filter[]): Promise<number>;
  query(collection: string, options?: QueryOptions): Promise<StoredDoc[]>;
  /** Serialisable transaction; `fn` may run more than once on contention. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
}

/** Firestore's limit for one batch or transaction. */
export const MAX_BATCH_WRITES = 500;

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
