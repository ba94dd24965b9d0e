import { readEntryOrPassOver, recordTransition, type QueueEntry } from '../recovery/queue-entry.ts';
import type { DocData } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import type { OrchestratorDeps } from './orchestrator.ts';

const PARKABLE_STATUSES: readonly string[] = ['pending', 'retrying', 'waiting'];

/**
 * Whether a completion parks this entry. Also a pre-check on the entry as read, unparsed: the fan-in
 * reads it alongside its write, and the transaction below reads and parses it again.
 */
export const isParkable = (entry: DocData | QueueEntry | undefined): boolean =>
  typeof entry?.status === 'string' &&
  PARKABLE_STATUSES.includes(entry.status) &&
  entry.awaitingGate !== true;

/**
 * A retried request completed, but its phase has not passed its gate: its entry waits for the
 * gate (`awaitingGate`, no `nextRetryAt`, so no tick re-runs it meanwhile). The gate passing closes
 * it; the gate failing again counts it.
 */
export async function parkForGate(deps: OrchestratorDeps, requestId: string, by: string): Promise<boolean> {
  return deps.store.transaction(async (tx) => {
    const current = await readEntryOrPassOver(tx, requestId);
    if (!current || !isParkable(current)) return false;
    // No gate of a superseded run will decide: its entry is settled by supersession, not parked.
    if (current.runId && (await tx.get(COLLECTIONS.runs, current.runId))?.supersededBy) return false;
    const at = deps.clock.now().toISOString();
    recordTransition(tx, {
      entry: current,
      type: 'retry_completed',
      at,
      from: current.status,
      to: 'retrying',
      message: `${by}; waiting for the gate of ${current.phase}`,
    });
    tx.set(
      COLLECTIONS.queue,
      requestId,
      { status: 'retrying', awaitingGate: true, nextRetryAt: null, updatedAt: at },
      { merge: true },
    );
    return true;
  });
}
