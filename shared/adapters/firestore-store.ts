import { FieldPath, Firestore, type Query } from '@google-cloud/firestore';
import { createIndexGuard } from '../store/indexes.ts';
import { declaredIndexes } from './declared-indexes.ts';
import {
  MAX_BATCH_WRITES,
  checkCreateWith,
  checkPaging,
  chunk,
  type DocData,
  type DocWrite,
  type DocumentStore,
  type Filter,
  type QueryOptions,
  type StoredDoc,
} from '../ports/store.ts';

/**
 * The Firestore client honours FIRESTORE_EMULATOR_HOST by itself; `projectId` is the
 * namespace (each test uses its own).
 */
export function createFirestore(projectId: string, emulatorHost?: string): Firestore {
  return emulatorHost
    ? new Firestore({ projectId, host: emulatorHost, ssl: false, ignoreUndefinedProperties: true })
    : new Firestore({ projectId, ignoreUndefinedProperties: true });
}

function applyFilters(query: Query, filters: readonly Filter[]): Query {
  return filters.reduce((q, f) => q.where(f.field, f.op, f.value), query);
}

export interface FirestoreStoreOptions {
  /**
   * Refuse queries no composite index serves, as production does. The emulator never asks
   * for an index; with this on it does, so a missing index fails a test, not a deploy.
   */
  indexGuard?: (collection: string, options: QueryOptions) => void;
}

/** On the emulator, guard with the declared indexes; in production Firestore guards itself. */
export function defaultStoreOptions(env: NodeJS.ProcessEnv = process.env): FirestoreStoreOptions {
  return env.FIRESTORE_EMULATOR_HOST ? { indexGuard: createIndexGuard(declaredIndexes()) } : {};
}

/** gRPC ALREADY_EXISTS: `create` of a document that is there. */
const ALREADY_EXISTS = 6;
/** gRPC NOT_FOUND: `update` of a document that is not there. */
const NOT_FOUND = 5;

export function createFirestoreStore(
  db: Firestore,
  options: FirestoreStoreOptions = defaultStoreOptions(),
): DocumentStore {
  const guard = options.indexGuard ?? (() => undefined);
  return {
    async get(collection, id) {
      const snapshot = await db.collection(collection).doc(id).get();
      return snapshot.exists ? snapshot.data() : undefined;
    },
    async getMany(collection, ids) {
      if (ids.length === 0) return [];
      const refs = ids.map((id) => db.collection(collection).doc(id));
      const results: (DocData | undefined)[] = [];
      for (const part of chunk(refs, 300)) {
        const snapshots = await db.getAll(...part);
        for (const s of snapshots) results.push(s.exists ? s.data() : undefined);
      }
      return results;
    },
    async set(collection, id, data, options) {
      await db
        .collection(collection)
        .doc(id)
        .set(data, { merge: options?.merge ?? false });
    },
    async writeBatch(writes: readonly DocWrite[]) {
      for (const part of chunk(writes, MAX_BATCH_WRITES)) {
        const batch = db.batch();
        for (const w of part)
          batch.set(db.collection(w.collection).doc(w.id), w.data, { merge: w.merge ?? false });
        await batch.commit();
      }
    },
    async countWhere(collection, filters) {
      guard(collection, { filters: [...filters] });
      const snapshot = await applyFilters(db.collection(collection), filters).count().get();
      return snapshot.data().count;
    },
    async query(collection, options: QueryOptions = {}) {
      checkPaging(collection, options);
      guard(collection, options);
      let query = applyFilters(db.collection(collection), options.filters ?? []);
      if (options.byId) {
        query = query.orderBy(FieldPath.documentId());
        if (options.byId.after !== undefined) query = query.startAfter(options.byId.after);
      } else if (options.orderBy)
        query = query.orderBy(options.orderBy.field, options.orderBy.direction ?? 'asc');
      if (options.limit !== undefined) query = query.limit(options.limit);
      const snapshot = await query.get();
      return snapshot.docs.map((d): StoredDoc => ({ id: d.id, data: d.data() }));
    },
    async create(collection, id, data) {
      try {
        await db.collection(collection).doc(id).create(data);
        return true;
      } catch (error) {
        if ((error as { code?: unknown }).code === ALREADY_EXISTS) return false;
        throw error;
      }
    },
    async createWith(doc, alongside) {
      checkCreateWith(alongside);
      const batch = db.batch().create(db.collection(doc.collection).doc(doc.id), doc.data);
      for (const w of alongside)
        batch.set(db.collection(w.collection).doc(w.id), w.data, { merge: w.merge ?? false });
      try {
        await batch.commit();
        return true;
      } catch (error) {
        if ((error as { code?: unknown }).code === ALREADY_EXISTS) return false;
        throw error;
      }
    },
    async update(collection, id, fields) {
      try {
        // Firestore reads each key of an update as a field path (`a.b`), and fails it when the document is missing.
        await db.collection(collection).doc(id).update(fields);
        return true;
      } catch (error) {
        if ((error as { code?: unknown }).code === NOT_FOUND) return false;
        throw error;
      }
    },
    async transaction(fn) {
      return db.runTransaction(async (tx) =>
        fn({
          async get(collection, id) {
            const snapshot = await tx.get(db.collection(collection).doc(id));
            return snapshot.exists ? snapshot.data() : undefined;
          },
          async getAll(refs) {
            if (refs.length === 0) return [];
            const snapshots = await tx.getAll(...refs.map((r) => db.collection(r.collection).doc(r.id)));
            return snapshots.map((s) => (s.exists ? s.data() : undefined));
          },
          set(collection, id, data, options) {
            tx.set(db.collection(collection).doc(id), data, { merge: options?.merge ?? false });
          },
          delete(collection, id) {
            tx.delete(db.collection(collection).doc(id));
          },
        }),
      );
    },
  };
}
