import type { Firestore } from '@google-cloud/firestore';

/** Fields a rerun legitimately changes: which run wrote a document, and when. */
export const VOLATILE_FIELD = /(^runId$|RunId$|At$)/;

/** collection -> document id -> its content without volatile fields, keys sorted. */
export type Snapshot = Map<string, Map<string, string>>;

export function canonical(data: Record<string, unknown>): string {
  return JSON.stringify(
    Object.fromEntries(
      Object.entries(data)
        .filter(([k]) => !VOLATILE_FIELD.test(k))
        .sort(([a], [b]) => a.localeCompare(b)),
    ),
  );
}

export async function snapshotCollections(db: Firestore, collections: readonly string[]): Promise<Snapshot> {
  const out: Snapshot = new Map();
  for (const c of collections) {
    const docs = await db.collection(c).get();
    out.set(c, new Map(docs.docs.map((d) => [d.id, canonical(d.data())])));
  }
  return out;
}

export interface Difference {
  collection: string;
  id: string;
  kind: 'lost' | 'duplicate' | 'different';
}

/** What the faulty run has that the reference does not, lacks, or holds differently. */
export function compareSnapshots(reference: Snapshot, actual: Snapshot): Difference[] {
  const diffs: Difference[] = [];
  for (const [collection, want] of reference) {
    const have = actual.get(collection) ?? new Map<string, string>();
    for (const [id, data] of want) {
      if (!have.has(id)) diffs.push({ collection, id, kind: 'lost' });
      else if (have.get(id) !== data) diffs.push({ collection, id, kind: 'different' });
    }
    for (const id of have.keys()) if (!want.has(id)) diffs.push({ collection, id, kind: 'duplicate' });
  }
  return diffs;
}
