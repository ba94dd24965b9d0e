import { markQueueSucceeded } from '../recovery/mark-succeeded.ts';
import { OPEN_STATUSES } from '../recovery/queue-policy.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import type { QueueStatus } from '../recovery/queue-status.ts';
import type { OrchestratorDeps } from './orchestrator.ts';

/** The phase passed its gate in this run: every open entry of it is recovered now (and only now). */
export async function closePhaseEntries(
  deps: OrchestratorDeps,
  runId: string,
  phase: string,
): Promise<string[]> {
  const open = await deps.store.query(COLLECTIONS.queue, {
    filters: [
      { field: 'runId', op: '==', value: runId },
      { field: 'phase', op: '==', value: phase },
    ],
  });
  const ids = open.filter((e) => OPEN_STATUSES.includes(e.data.status as QueueStatus)).map((e) => e.id);
  const by = `phase ${phase} passed its gate in run ${runId}`;
  return ids.length ? markQueueSucceeded(deps.store, ids, deps.clock.now().toISOString(), by) : [];
}
