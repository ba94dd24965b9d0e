import type { DocumentStore } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { readEntryOrPassOver, recordTransition } from './queue-entry.ts';
import { isOpen } from './queue-policy.ts';

/**
 * A retried request completed: its queue entries become `succeeded` (transactionally, with an
 * event linked to the failure they answered). Entries already final are left alone.
 */
export async function markQueueSucceeded(
  store: DocumentStore,
  entryIds: readonly string[],
  at: string,
  by: string,
): Promise<string[]> {
  // Almost always there is nothing to recover: a plain read says so without a transaction.
  const open = (await store.getMany(COLLECTIONS.queue, entryIds)).some(
    (e) => e !== undefined && isOpen(e.status),
  );
  if (!open) return [];
  return store.transaction(async (tx) => {
    const entries = await Promise.all(
      entryIds.map(async (id) => ({ id, entry: await readEntryOrPassOver(tx, id) })),
    );
    const changed: string[] = [];
    for (const { id, entry } of entries) {
      if (!entry || !isOpen(entry.status)) continue;
      recordTransition(tx, {
        entry,
        type: 'queue_succeeded',
        at,
        from: entry.status,
        to: 'succeeded',
        message: by,
      });
      tx.set(
        COLLECTIONS.queue,
        id,
        {
          status: 'succeeded',
          needsManualFix: false,
          awaitingGate: false,
          nextRetryAt: null,
          succeededAt: at,
          updatedAt: at,
        },
        { merge: true },
      );
      changed.push(id);
    }
    return changed;
  });
}
