import { readEntryOrPassOver, recordTransition, type QueueEntry } from '../recovery/queue-entry.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import type { OrchestratorDeps } from './orchestrator.ts';

const parkable = (entry: QueueEntry | undefined): entry is QueueEntry =>
  entry !== undefined && ['pending', 'retrying', 'waiting'].includes(entry.status) && !entry.awaitingGate;

/**
 * A retried request completed, but its phase has not passed its gate: its entry waits for the
 * gate (`awaitingGate`, no `nextRetryAt`, so no tick re-runs it meanwhile). The gate passing closes
 * it; the gate failing again counts it.
 */
export async function parkForGate(deps: OrchestratorDeps, requestId: string, by: string): Promise<boolean> {
  if (!parkable(await readEntryOrPassOver(deps.store, requestId))) return false;
  return deps.store.transaction(async (tx) => {
    const current = await readEntryOrPassOver(tx, requestId);
    if (!parkable(current)) return false;
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
