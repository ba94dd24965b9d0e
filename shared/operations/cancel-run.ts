import { runEventFields, writeEvent } from '../events/write-event.ts';
import { readRun, updateRun } from '../orchestration/run-doc.ts';
import type { Clock } from '../ports/clock.ts';
import type { DocumentStore } from '../ports/store.ts';
import { closeCancelledEntry } from '../recovery/cancel-entry.ts';
import { parseEntries } from '../recovery/queue-entry.ts';
import { isOpen } from '../recovery/queue-policy.ts';
import { COLLECTIONS } from '../runtime/collections.ts';

export class CancelError extends Error {
  override readonly name = 'CancelError';
}

export interface Cancelled {
  /** False when the run had already ended (nothing changed): `status` says how. */
  cancelled: boolean;
  status: string;
  /** Its queue entries closed as `cancelled`. */
  closedEntries: string[];
  /** Its triggers decided but not yet sent, withdrawn. */
  withdrawnTriggers: number;
}

/**
 * An operator cancels a run: it ends CANCELLED and no further phase is triggered. In one transaction
 * the run records who and why, and the partition's lock marks it cancelled, so every request of the
 * run still to be delivered is acked without running (the attempt's claim reads the lock) and a
 * failure of one still running is not queued; a decision of its phases reads the run and decides
 * nothing. What its running processors write is recorded as usual. Then its open queue entries
 * close as `cancelled`, and its triggers still pending in the outbox are withdrawn.
 */
export async function cancelRun(
  deps: { store: DocumentStore; clock: Clock },
  runId: string,
  actor: { by: string; note: string },
): Promise<Cancelled> {
  const at = deps.clock.now().toISOString();
  const outcome = await deps.store.transaction(async (tx) => {
    const run = await readRun(tx, runId);
    if (!run) throw new CancelError(`no run "${runId}"`);
    const lock = await tx.get(COLLECTIONS.runLocks, run.partition);
    if (run.status !== 'RUNNING' && run.status !== 'NOT_STARTED')
      return { cancelled: false, status: run.status };
    const reason = `cancelled by ${actor.by}: ${actor.note}`;
    const updated = updateRun(run, at, reason, (d) => void (d.cancelled = { at, ...actor }));
    tx.set(COLLECTIONS.runs, runId, { ...updated });
    if (lock?.runId === runId)
      tx.set(COLLECTIONS.runLocks, run.partition, { cancelledRunId: runId }, { merge: true });
    writeEvent(tx, {
      ...runEventFields({ ...run, phase: 'orchestrator' }),
      eventId: `${runId}--run_cancelled`,
      at,
      type: 'run_cancelled',
      ...actor,
      message: reason,
    });
    return { cancelled: true, status: updated.status };
  });
  // A cancel that died after its transaction is finished by running it again.
  if (!outcome.cancelled && outcome.status !== 'CANCELLED')
    return { ...outcome, closedEntries: [], withdrawnTriggers: 0 };
  const closedEntries = await closeEntries(deps.store, runId, at, actor.note);
  const withdrawnTriggers = await withdrawTriggers(deps.store, runId, at);
  return { ...outcome, closedEntries, withdrawnTriggers };
}

async function closeEntries(
  store: DocumentStore,
  runId: string,
  at: string,
  note: string,
): Promise<string[]> {
  const docs = await store.query(COLLECTIONS.queue, {
    filters: [{ field: 'runId', op: '==', value: runId }],
  });
  const closed: string[] = [];
  for (const { requestId } of parseEntries(docs).filter((e) => isOpen(e.status)))
    if (await closeCancelledEntry(store, requestId, at, note)) closed.push(requestId);
  return closed;
}

/** Marks the run's pending outbox entries withdrawn, each only while still pending (a sender may be sending it now). */
async function withdrawTriggers(store: DocumentStore, runId: string, at: string): Promise<number> {
  const pending = await store.query(COLLECTIONS.outbox, {
    filters: [
      { field: 'runId', op: '==', value: runId },
      { field: 'status', op: '==', value: 'pending' },
    ],
  });
  let withdrawn = 0;
  for (const doc of pending) {
    const done = await store.transaction(async (tx) => {
      const current = await tx.get(COLLECTIONS.outbox, doc.id);
      if (current?.status !== 'pending') return false;
      tx.set(COLLECTIONS.outbox, doc.id, { status: 'withdrawn', withdrawnAt: at }, { merge: true });
      return true;
    });
    if (done) withdrawn += 1;
  }
  return withdrawn;
}
