import type { ProcessorFailed } from '../messages/messages.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import type { OrchestratorDeps } from './orchestrator.ts';
import { readRun, updateRun, type RunDoc } from './run-doc.ts';

/**
 * A processor's failure, already recorded in the failed-processor queue by the phase that failed,
 * shown on its run at once (the run's status and lastError say it). Returns the run as it is now.
 */
export async function recordFailureNotice(
  deps: OrchestratorDeps,
  notice: ProcessorFailed,
): Promise<RunDoc | undefined> {
  const now = deps.clock.now().toISOString();
  return deps.store.transaction(async (tx) => {
    const run = await readRun(tx, notice.runId);
    // A superseded run is history: what its old attempts report changes nothing.
    if (!run || run.supersededBy) return run;
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
    return updated;
  });
}
