import type { DocumentStore } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { readEntry, recordTransition } from './queue-entry.ts';
import { isOpen } from './queue-policy.ts';

/** Closes a queue entry of a cancelled run as `cancelled` (a `queue_cancelled` event); false when it was not open. */
export function closeCancelledEntry(
  store: DocumentStore,
  entryId: string,
  at: string,
  why: string,
): Promise<boolean> {
  return store.transaction(async (tx) => {
    const entry = await readEntry(tx, entryId);
    if (!entry || !isOpen(entry.status)) return false;
    const message = `run cancelled: ${why}`;
    recordTransition(tx, {
      entry,
      type: 'queue_cancelled',
      at,
      from: entry.status,
      to: 'cancelled',
      message,
    });
    tx.set(
      COLLECTIONS.queue,
      entryId,
      {
        status: 'cancelled',
        needsManualFix: false,
        awaitingGate: false,
        nextRetryAt: null,
        note: message,
        updatedAt: at,
      },
      { merge: true },
    );
    return true;
  });
}
