import { z } from 'zod';
import type { QueryOptions } from '../ports/store.ts';

/** One entry of `firestore.indexes.json` (the format `firebase deploy` and `gcloud` take). */
export const FirestoreIndexSchema = z
  .object({
    collectionGroup: z.string().min(1),
    queryScope: z.enum(['COLLECTION', 'COLLECTION_GROUP']),
    fields: z
      .array(z.object({ fieldPath: z.string().min(1), order: z.enum(['ASCENDING', 'DESCENDING']) }).strict())
      .min(2),
  })
  .strict();
export type FirestoreIndex = z.infer<typeof FirestoreIndexSchema>;

export const FirestoreIndexesFileSchema = z
  .object({ indexes: z.array(FirestoreIndexSchema), fieldOverrides: z.array(z.unknown()).default([]) })
  .strict();
export type FirestoreIndexesFile = z.infer<typeof FirestoreIndexesFileSchema>;

export const describeIndex = (index: FirestoreIndex): string =>
  `${index.collectionGroup} (${index.fields.map((f) => `${f.fieldPath} ${f.order === 'ASCENDING' ? 'asc' : 'desc'}`).join(', ')})`;

/**
 * The composite index a query needs in production, or null when single-field indexes serve it.
 * Firestore merges single-field indexes for equality (and `in`) filters; a range filter or an
 * order on one field combined with any other field needs a composite: the equality fields, then
 * the range/order field.
 */
export function compositeIndexFor(
  collection: string,
  options: QueryOptions,
): (FirestoreIndex & { equalityFields: number }) | null {
  const filters = options.filters ?? [];
  const equality = filters.filter((f) => f.op === '==' || f.op === 'in').map((f) => f.field);
  const ranged = [...new Set(filters.filter((f) => f.op !== '==' && f.op !== 'in').map((f) => f.field))];
  const ordered = options.orderBy ? [options.orderBy.field] : [];
  const tail = [...new Set([...ranged, ...ordered])];
  const head = [...new Set(equality)].filter((f) => !tail.includes(f));
  if (tail.length === 0 || head.length + tail.length < 2) return null;
  const orderOf = (field: string): 'ASCENDING' | 'DESCENDING' =>
    options.orderBy?.field === field && options.orderBy.direction === 'desc' ? 'DESCENDING' : 'ASCENDING';
  return {
    collectionGroup: collection,
    queryScope: 'COLLECTION',
    equalityFields: head.length,
    fields: [
      ...head.map((fieldPath) => ({ fieldPath, order: 'ASCENDING' as const })),
      ...tail.map((fieldPath) => ({ fieldPath, order: orderOf(fieldPath) })),
    ],
  };
}

/** Equality fields may come in any order in an index; the range/order fields must follow, in order and direction. */
export function indexServes(
  index: FirestoreIndex,
  needed: FirestoreIndex & { equalityFields: number },
): boolean {
  if (
    index.collectionGroup !== needed.collectionGroup ||
    index.queryScope !== needed.queryScope ||
    index.fields.length !== needed.fields.length
  )
    return false;
  const split = needed.equalityFields;
  const sameSet = (a: FirestoreIndex['fields'], b: FirestoreIndex['fields']) =>
    a
      .map((f) => f.fieldPath)
      .sort()
      .join('|') ===
    b
      .map((f) => f.fieldPath)
      .sort()
      .join('|');
  const tailMatches = index.fields
    .slice(split)
    .every(
      (f, i) =>
        f.fieldPath === needed.fields[split + i]!.fieldPath && f.order === needed.fields[split + i]!.order,
    );
  return sameSet(index.fields.slice(0, split), needed.fields.slice(0, split)) && tailMatches;
}

export class MissingIndexError extends Error {
  override readonly name = 'MissingIndexError';
  /** Firestore's own code for it: FAILED_PRECONDITION, which is not retried. */
  readonly code = 9;
  readonly needed: FirestoreIndex;
  constructor(needed: FirestoreIndex) {
    super(
      `FAILED_PRECONDITION: The query requires an index: ${describeIndex(needed)}. ` +
        'Add it to firestore.indexes.json (production refuses this query without it).',
    );
    this.needed = needed;
  }
}

/** Refuses, as production Firestore would, a query no declared index serves. */
export function createIndexGuard(
  indexes: readonly FirestoreIndex[],
): (collection: string, options: QueryOptions) => void {
  return (collection, options) => {
    const needed = compositeIndexFor(collection, options);
    if (needed && !indexes.some((index) => indexServes(index, needed))) {
      const { equalityFields, ...index } = needed;
      void equalityFields;
      throw new MissingIndexError(index);
    }
  };
}
