import type { ProcessorCompleted } from '../messages/messages.ts';
import type { Logger } from '../ports/logger.ts';
import { markQueueSucceeded } from '../recovery/mark-succeeded.ts';
import { isOpen } from '../recovery/queue-policy.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import type { OrchestratorDeps } from './orchestrator.ts';
import { isParkable, parkForGate } from './park-for-gate.ts';
import { recordOnPhase, waitingFor } from './phase-completions.ts';
import {
  phaseDecisionId,
  readRun,
  readRunPhase,
  updateRun,
  type RunDoc,
  type RunPhaseDoc,
} from './run-doc.ts';

/** Where a phase stands once a completion of it is recorded; `run` is the run as read on the way. */
export type FanIn = { run: RunDoc | undefined } &
  /** A newer run holds the partition: this completion decides nothing. */
  (
    | { state: 'superseded'; currentRunId: string }
    /** No phase of the run waits for it (a request published by hand): its entry closed, nothing recorded. */
    | { state: 'unexpected' }
    /** The phase passed its gate already (a duplicate, or a re-run after the pass). */
    | { state: 'decided' }
    /** Other processors of the phase have not completed yet. */
    | { state: 'waiting' }
    /** Every expected processor of the phase has completed: its gate is due. */
    | { state: 'complete'; phaseDoc: RunPhaseDoc }
  );

/**
 * The fan-in: records a completion on its phase's document (idempotent: one field per processor)
 * and says whether the phase is now complete from that document, not from a count of completions.
 * On the way it settles what the completion settles: the dead-lettered copy of the completion
 * itself, a retried request's entry (parked until the gate decides: a completion is not data that
 * passed), and the processor's earlier failure on the run. The run and both queue
 * entries are read alongside the write; the transactions that change an entry run only when its read
 * says there is something to change (almost never).
 */
export async function recordFanIn(
  deps: OrchestratorDeps,
  completion: ProcessorCompleted,
  logger: Logger,
): Promise<FanIn> {
  const { runId, requestId } = completion;
  const deadLetterId = `completion-${requestId}`;
  const decisionId = phaseDecisionId(runId, completion.phase);
  // The completion is recorded even for a superseded run (history, not the partition's data).
  const [recorded, seen, run, [deadLettered, retried]] = await Promise.all([
    recordOnPhase(deps.store, completion),
    readRunPhase(deps.store, decisionId),
    readRun(deps.store, runId),
    deps.store.getMany(COLLECTIONS.queue, [deadLetterId, requestId]),
  ]);
  // A newer run holds the partition (its start marked this one in the transaction that took the lock).
  if (run?.supersededBy) return { run, state: 'superseded', currentRunId: run.supersededBy };
  const by = `completed (${completion.triggerSource})`;
  const now = () => deps.clock.now().toISOString();
  const [phaseDoc, recovered] = await Promise.all([
    !recorded
      ? undefined
      : seen && lastOrDecided(seen, completion)
        ? seen
        : readRunPhase(deps.store, decisionId),
    isOpen(deadLettered?.status)
      ? markQueueSucceeded(
          deps.store,
          [deadLetterId],
          now(),
          `completion recorded (${completion.triggerSource})`,
        )
      : [],
  ]);
  if (recovered.length > 0)
    logger.info({ recovered }, 'queue entry recovered: the retried completion is recorded');
  if (!phaseDoc) {
    const why = `${by}; no phase of run ${runId} waits for it`;
    if (isOpen(retried?.status)) await markQueueSucceeded(deps.store, [requestId], now(), why);
    logger.info(
      {},
      'completion for a request no run is waiting for (published by hand?): nothing to trigger',
    );
    return { run, state: 'unexpected' };
  }
  const decided = phaseDoc.status === 'gate_passed';
  // One after the other: both transactions read the run, and two transactions on one document wait on each other.
  if (!decided && isParkable(retried) && (await parkForGate(deps, requestId, by)))
    logger.info({}, 'retried request completed: its entry waits for the gate of its phase');
  if (run?.failures[completion.processor]) await clearRecoveredFailure(deps, completion);
  if (decided) return { run, state: 'decided' };
  // This processor's own update has committed, whether or not the read that found the phase saw it.
  const waiting = waitingFor(phaseDoc).filter((p) => p !== completion.processor);
  if (waiting.length === 0) return { run, state: 'complete', phaseDoc };
  const expected = phaseDoc.expected.length;
  logger.info({ done: expected - waiting.length, expected, waitingFor: waiting }, 'completion recorded');
  return { run, state: 'waiting' };
}

/**
 * Whether the phase as read alongside the write already says enough: decided, or waiting for this
 * processor alone (this completion is the last). Otherwise it is read again after the write, since
 * the processors it seems to wait for may be completing at this moment (phase-completions.ts).
 */
const lastOrDecided = (seen: RunPhaseDoc, completion: ProcessorCompleted): boolean =>
  seen.status === 'gate_passed' || waitingFor(seen).every((p) => p === completion.processor);

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
