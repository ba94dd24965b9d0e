import { readEntryOrPassOver } from '../recovery/queue-entry.ts';
import { pumpDependencies } from './dependencies/pump-dependencies.ts';
import { requestDependencies } from './dependencies/request-dependencies.ts';
import type { OrchestratorDeps } from './orchestrator.ts';
import type { RecordedOutcome } from './record-outcome.ts';
import { readRunOrPassOver } from './run-doc.ts';

/**
 * With `dependencies: 'trigger'`, after an outcome is recorded: a wait for earlier partitions
 * asks for them, and a run that ended lets the next ones start (and its waiters resume). The run
 * is the one recordOutcome read or wrote last (not read again: a run that ended meanwhile through
 * another message is pumped by that message, and by every reconcile tick). A failure to record the
 * request answers 5xx (the redelivery records nothing twice and asks again); a failure of the pump is
 * only logged (pumpQuietly).
 */
export async function followDependencies(deps: OrchestratorDeps, recorded: RecordedOutcome): Promise<void> {
  const { outcome, run } = recorded;
  if ('outcome' in outcome && outcome.outcome === 'waiting') {
    const entry = await readEntryOrPassOver(deps.store, outcome.requestId);
    if (entry?.status !== 'waiting' || entry.errorReason !== 'earlier_partitions_missing') return;
    // Runs are started for a run that waits: a request published by hand outside any run (or of a
    // superseded one) waits as with 'wait', and starts nothing that would supersede it.
    const waitingRun =
      entry.runId === run?.runId
        ? run
        : entry.runId
          ? await readRunOrPassOver(deps.store, entry.runId)
          : undefined;
    if (!waitingRun || waitingRun.supersededBy) return;
    await requestDependencies(deps, entry);
    await pumpQuietly(deps);
    return;
  }
  if (run && run.status !== 'RUNNING') await pumpQuietly(deps);
}

/**
 * The pump is global: its failure is logged, not answered 5xx (the outcome is recorded, and a
 * redelivery would not cure a pump problem but could dead-letter the outcome); the reconciler
 * pumps again every tick.
 */
async function pumpQuietly(deps: OrchestratorDeps): Promise<void> {
  try {
    await pumpDependencies(deps);
  } catch (error) {
    deps.logger.error(
      { err: error instanceof Error ? error.message : String(error) },
      'partition dependency pump failed; the reconciler pumps again',
    );
  }
}
