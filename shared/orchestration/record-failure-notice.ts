import type { ProcessorFailed } from '../messages/messages.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import type { OrchestratorDeps } from './orchestrator.ts';
import { readRun, updateRun } from './run-doc.ts';

/**
 * A processor's failure, already recorded in the failed-processor queue by the phase that failed,
 * shown on its run at once (the run's status and lastError say it).
 */
export async function recordFailureNotice(deps: OrchestratorDeps, notice: ProcessorFailed): Promise<void> {
  const now = deps.clock.now().toISOString();
  await deps.store.transaction(async (tx) => {
    const run = await readRun(tx, notice.runId);
    // A superseded run is history: what its old attempts report changes nothing.
    if (!run || run.supersededBy) return;
    const updated = updateRun(run, now, `${notice.processor} ${notice.outcome}`, (draft) => {
      draft.failures[notice.processor] = {
        phase: notice.phase,
        status: notice.outcome,
        errorType: notice.errorType,
        message: notice.message,
        at: notice.failedAt,
      };
    });
    tx.set(COLLECTIONS.runs, notice.runId, { ...updated });
  });
}
