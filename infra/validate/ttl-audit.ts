import { EXPIRES_AT, isTtlCollection } from '../../shared/store/retention.ts';
import type { Drift } from './drift.ts';

/**
 * The TTL policies are the kit's, set by deploy from the collections the code stamps
 * (shared/store/retention.ts). A field override in firestore.indexes.json that sets a TTL (`ttl`, in
 * Firebase's format) on one of those collection groups fights them: a group has one TTL field, and
 * `firebase deploy` of the file would move or remove what `phasegate deploy` set. The file's own
 * overrides on other collections (a pipeline's domain data) are its business.
 */
export function auditTtlOverrides(fieldOverrides: readonly unknown[]): Drift[] {
  const drifts: Drift[] = [];
  for (const [i, override] of fieldOverrides.entries()) {
    const o = (override ?? {}) as { collectionGroup?: unknown; fieldPath?: unknown; ttl?: unknown };
    if (o.ttl === undefined || typeof o.collectionGroup !== 'string' || !isTtlCollection(o.collectionGroup))
      continue;
    const field = typeof o.fieldPath === 'string' ? o.fieldPath : '?';
    drifts.push({
      area: 'indexes',
      message:
        `firestore.indexes.json fieldOverrides[${i}] sets ttl ${JSON.stringify(o.ttl)} on ${o.collectionGroup}.` +
        `${field}: phasegate deploy gives ${o.collectionGroup} its TTL policy on ${EXPIRES_AT} ` +
        `(the retention in the definition); remove the override`,
    });
  }
  return drifts;
}
