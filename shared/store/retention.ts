import type { Clock } from '../ports/clock.ts';
import type { DocData, DocumentStore, DocWrite, Transaction } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';

/**
 * The expiry of a bookkeeping document: a JS Date, which Firestore stores as a timestamp (the only
 * type a TTL policy acts on; a string or null there never expires the document).
 */
export const EXPIRES_AT = 'expiresAt';

const DAY_MS = 86_400_000;

/**
 * The collections whose documents expire, and from which write. Each stamp starts `retention.days`
 * before the document may go; no document carries an expiry while it still has a duty:
 * - `pipeline_events`: history, stamped when written;
 * - `processor_runs`: every write (attempt, lease, outcome) restarts the clock, so a record lives the
 *   retention past its last attempt: far beyond any handler (a function runs at most 540 s) and any
 *   redelivery or dead letter of its message (7 + 7 days), which finds it and redoes nothing;
 * - `decision_claims`: stamped when made (a claim stops others for 60 s);
 * - `outbox`: only once `sent`: a pending entry never expires, whatever its age.
 * Not here: runs, backfills (one per range asked), run_phases, run_locks, partition_dependencies and the queue (the contract, the
 * partition's current run, open duties; a phase counts its completions on its own document until
 * it decides, which may be any time later: a source that waits, a person's retry); alerts (one per
 * dedup key, and a webhook still to send).
 */
export const TTL_COLLECTIONS = [
  COLLECTIONS.events,
  COLLECTIONS.processorRuns,
  COLLECTIONS.decisionClaims,
  COLLECTIONS.outbox,
] as const;
export type TtlCollection = (typeof TTL_COLLECTIONS)[number];

export const isTtlCollection = (collection: string): collection is TtlCollection =>
  (TTL_COLLECTIONS as readonly string[]).includes(collection);

/**
 * What this write does to its document's expiry: starts the retention, clears it (an outbox entry
 * written pending: `null`, which no TTL policy or sweep acts on, also over an older expiry in a
 * merge), or nothing (a collection that keeps its documents).
 */
function expiryOfWrite(collection: string, data: DocData): 'start' | 'clear' | 'none' {
  if (!isTtlCollection(collection)) return 'none';
  if (collection !== COLLECTIONS.outbox) return 'start';
  return data.status === 'sent' || data.status === 'withdrawn'
    ? 'start'
    : data.status === 'pending'
      ? 'clear'
      : 'none';
}

export interface Retention {
  days: number;
}

export const expiryFor = (now: Date, retention: Retention): Date =>
  new Date(now.getTime() + retention.days * DAY_MS);

/** An expiry as read back: a Date from the in-memory store, a Firestore Timestamp from Firestore. */
export function expiryMillis(value: unknown): number | null {
  if (value instanceof Date) return value.getTime();
  const toMillis = (value as { toMillis?: unknown } | null | undefined)?.toMillis;
  return typeof toMillis === 'function' ? Number(toMillis.call(value)) : null;
}

/**
 * The store with the retention stamped on every write that starts one (`expiresAt`, unless the write
 * names its own). Wrapped where the functions' clients are built, so no handler has to remember it.
 */
export function withExpiry(store: DocumentStore, retention: Retention, clock: Clock): DocumentStore {
  const stamp = (collection: string, data: DocData): DocData => {
    const expiry = expiryOfWrite(collection, data);
    if (expiry === 'none' || EXPIRES_AT in data) return data;
    return { ...data, [EXPIRES_AT]: expiry === 'start' ? expiryFor(clock.now(), retention) : null };
  };
  const stampWrite = (w: DocWrite): DocWrite => ({ ...w, data: stamp(w.collection, w.data) });
  const stampTx = (tx: Transaction): Transaction => ({
    get: (collection, id) => tx.get(collection, id),
    getAll: (refs) => tx.getAll(refs),
    set: (collection, id, data, options) => tx.set(collection, id, stamp(collection, data), options),
    delete: (collection, id) => tx.delete(collection, id),
  });
  return {
    get: (collection, id) => store.get(collection, id),
    getMany: (collection, ids) => store.getMany(collection, ids),
    countWhere: (collection, filters) => store.countWhere(collection, filters),
    query: (collection, options) => store.query(collection, options),
    set: (collection, id, data, options) => store.set(collection, id, stamp(collection, data), options),
    create: (collection, id, data) => store.create(collection, id, stamp(collection, data)),
    createWith: (doc, alongside) => store.createWith(stampWrite(doc), alongside.map(stampWrite)),
    update: (collection, id, fields) => store.update(collection, id, stamp(collection, fields)),
    writeBatch: (writes) => store.writeBatch(writes.map(stampWrite)),
    transaction: (fn) => store.transaction((tx) => fn(stampTx(tx))),
  };
}
