import type { ProcessorCompleted } from '../messages/messages.ts';
import type { Logger } from '../ports/logger.ts';
import { markQueueSucceeded } from '../recovery/mark-succeeded.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import type { OrchestratorDeps } from './orchestrator.ts';
import { parkForGate } from './park-for-gate.ts';
import { phaseDecisionId, updateRun, type RunPhaseDoc, readRun, readRunPhase } from './run-doc.ts';

/** Where a phase stands once a completion of it is recorded. */
export type FanIn =
  /** A newer run holds the partition: this completion decides nothing. */
  | { state: 'superseded'; currentRunId: string }
  /** No phase of the run waits for it (a request published by hand): recorded, its entry closed. */
  | { state: 'unexpected' }
  /** The phase passed its gate already (a duplicate, or a re-run after the pass). */
  | { state: 'decided' }
  /** Other processors of the phase have not completed yet. */
  | { state: 'waiting' }
  /** Every expected processor of the phase has completed: its gate is due. */
  | { state: 'complete'; phaseDoc: RunPhaseDoc };

/**
 * The fan-in: records a completion idempotently (by request id) and says whether its phase is now
 * complete. On the way it settles what the completion settles: the dead-lettered copy of the
 * completion itself, a retried request's entry (parked until the gate decides: a completion is not
 * data that passed), and the processor's earlier failure on the run.
 */
export async function recordFanIn(
  deps: OrchestratorDeps,
  completion: ProcessorCompleted,
  logger: Logger,
): Promise<FanIn> {
  const decisionId = phaseDecisionId(completion.runId, completion.phase);
  // Independent reads and writes go together. (The completion record is kept even for a
  // superseded run: it is history, not the partition's data.)
  const [, phaseDoc, run] = await Promise.all([
    deps.store.set(COLLECTIONS.runCompletions, completion.requestId, {
      runId: completion.runId,
      phase: completion.phase,
      processor: completion.processor,
      partition: completion.partition,
      completedAt: completion.completedAt,
      records: completion.records,
      metrics: completion.metrics,
    }),
    readRunPhase(deps.store, decisionId),
    readRun(deps.store, completion.runId),
  ]);
  // A newer run holds the partition (its start marked this one in the transaction that took the lock).
  if (run?.supersededBy) return { state: 'superseded', currentRunId: run.supersededBy };
  const by = `completed (${completion.triggerSource})`;
  const recovered = await markQueueSucceeded(
    deps.store,
    [`completion-${completion.requestId}`],
    deps.clock.now().toISOString(),
    `completion recorded (${completion.triggerSource})`,
  );
  if (recovered.length > 0)
    logger.info({ recovered }, 'queue entry recovered: the retried completion is recorded');
  if (!phaseDoc) {
    const unexpected = `${by}; no phase of run ${completion.runId} waits for it`;
    await markQueueSucceeded(deps.store, [completion.requestId], deps.clock.now().toISOString(), unexpected);
    logger.info(
      {},
      'completion for a request no run is waiting for (published by hand?): recorded, nothing to trigger',
    );
    return { state: 'unexpected' };
  }
  if (phaseDoc.status !== 'gate_passed' && (await parkForGate(deps, completion.requestId, by)))
    logger.info({}, 'retried request completed: its entry waits for the gate of its phase');
  if (run?.failures[completion.processor]) await clearRecoveredFailure(deps, completion);
  if (phaseDoc.status === 'gate_passed') return { state: 'decided' };
  const done = await deps.store.query(COLLECTIONS.runCompletions, {
    filters: [
      { field: 'runId', op: '==', value: completion.runId },
      { field: 'phase', op: '==', value: completion.phase },
    ],
  });
  const completed = new Set(done.map((d) => d.data.processor));
  const waitingFor = phaseDoc.expected.filter((p) => !completed.has(p));
  if (waitingFor.length === 0) return { state: 'complete', phaseDoc };
  const expected = phaseDoc.expected.length;
  logger.info({ done: expected - waitingFor.length, expected, waitingFor }, 'completion recorded');
  return { state: 'waiting' };
}

/** A retried processor succeeded: its failure no longer counts against the run. */
async function clearRecoveredFailure(deps: OrchestratorDeps, completion: ProcessorCompleted): Promise<void> {
  const { runId, processor } = completion;
  await deps.store.transaction(async (tx) => {
    const current = await readRun(tx, runId);
    if (!current?.failures[processor]) return;
    const now = deps.clock.now().toISOString();
    const updated = updateRun(
      current,
      now,
      `${processor} recovered`,
      (d) => void delete d.failures[processor],
    );
    tx.set(COLLECTIONS.runs, runId, { ...updated });
  });
}
