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
  /**
   * Document-id order, starting after `after` (the last id of the previous page; absent for the
   * first): a cursor for reading a large match page by page. Firestore serves equality filters in
   * this order without a composite index. Not combined with `orderBy`.
   */
  byId?: { after?: string };
}

export interface StoredDoc {
  id: string;
  data: DocData;
}

/** A document by collection and id. */
export interface DocRef {
  collection: string;
  id: string;
}

export interface Transaction {
  get(collection: string, id: string): Promise<DocData | undefined>;
  /** Several documents, of any collections, in one read (one round trip: Firestore's getAll), in the order asked. */
  getAll(refs: readonly DocRef[]): Promise<(DocData | undefined)[]>;
  set(collection: string, id: string, data: DocData, options?: { merge?: boolean }): void;
  /** Deletes the document when the transaction commits (one that does not exist is no error, as in Firestore). */
  delete(collection: string, id: string): void;
}

export interface DocumentStore {
  get(collection: string, id: string): Promise<DocData | undefined>;
  getMany(collection: string, ids: readonly string[]): Promise<(DocData | undefined)[]>;
  set(collection: string, id: string, data: DocData, options?: { merge?: boolean }): Promise<void>;
  /** Writes the document only if it does not exist: true if this call created it. Never waits on a lock. */
  create(collection: string, id: string, data: DocData): Promise<boolean>;
  /**
   * `doc` created only if it does not exist, with `alongside` in the same commit (at most 499): true if
   * this call created it; false, and nothing written, if it exists. Never waits on a lock.
   */
  createWith(doc: DocWrite, alongside: readonly DocWrite[]): Promise<boolean>;
  /**
   * Sets fields of an existing document without reading it; each key is a field path (`a.b` sets `b`
   * in map `a` and keeps the map's other fields). False, and nothing written, when the document does
   * not exist. One write, no transaction: concurrent updates of one document never abort each other.
   */
  update(collection: string, id: string, fields: DocData): Promise<boolean>;
  /** Batched writes, atomic per chunk of at most 500 (Firestore's batch limit). */
  writeBatch(writes: readonly DocWrite[]): Promise<void>;
  countWhere(collection: string, filters: readonly Filter[]): Promise<number>;
  query(collection: string, options?: QueryOptions): Promise<StoredDoc[]>;
  /** Serialisable transaction; `fn` may run more than once on contention. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
}

/**
 * Refuses what Firestore would refuse at run time: a query in document-id order may carry only
 * equality filters (a range filter must be the first order) and no other order.
 */
export function checkPaging(collection: string, options: QueryOptions): void {
  if (!options.byId) return;
  const ranged = (options.filters ?? []).find((f) => f.op !== '==' && f.op !== 'in');
  if (options.orderBy || ranged)
    throw new Error(
      `a query of ${collection} in document-id order takes equality filters only and no orderBy ` +
        `(got ${options.orderBy ? `orderBy ${options.orderBy.field}` : `${ranged?.field} ${ranged?.op}`})`,
    );
}

/** Firestore's limit for one batch or transaction. */
export const MAX_BATCH_WRITES = 500;

/** `createWith` is one commit: the created document and what goes with it must fit one. */
export function checkCreateWith(alongside: readonly DocWrite[]): void {
  if (alongside.length >= MAX_BATCH_WRITES)
    throw new Error(
      `createWith commits at most ${MAX_BATCH_WRITES} writes: the created document and ${alongside.length} alongside`,
    );
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
