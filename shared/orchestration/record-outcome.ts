import { decodeBase64Json, parseMessage } from '../messages/decode.ts';
import {
  isFailure,
  ProcessorOutcomeSchema,
  type ProcessorCompleted,
  type ProcessorOutcome,
} from '../messages/messages.ts';
import type { Logger } from '../ports/logger.ts';
import { messageIdOf, type PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import { ackSupersededCompletion } from './ack-superseded-completion.ts';
import { claimDecision } from './claim-decision.ts';
import { closePhaseEntries } from './close-phase-entries.ts';
import type { PhaseDecision } from './decide-phase.ts';
import { describeShortfalls, runGate, type GateResult } from './gate.ts';
import type { OrchestrationSteps, OrchestratorDeps } from './orchestrator.ts';
import { flushOutbox, sendOutboxEntries } from './outbox.ts';
import { recordFailureNotice } from './record-failure-notice.ts';
import { recordFanIn } from './record-fan-in.ts';
import { rejectOrchestratorMessage } from './reject.ts';
import { phaseDecisionId, type RunDoc, type RunPhaseDoc } from './run-doc.ts';

/** An outcome the handler recorded, and the run as it last read or wrote it (followDependencies needs no read of its own). */
export interface RecordedOutcome {
  outcome: ProcessorOutcome;
  run: RunDoc | undefined;
}

/**
 * `processor-completions`: a failure notice is shown on its run; a completion is recorded (the
 * fan-in) and, when its phase is complete, the phase is gated and the next one triggered, once.
 * Null when the message was no outcome (rejected: recorded as such).
 */
export async function recordOutcome(
  deps: OrchestratorDeps,
  steps: OrchestrationSteps,
  event: PubSubCloudEvent,
): Promise<RecordedOutcome | null> {
  let outcome;
  try {
    outcome = parseMessage(
      ProcessorOutcomeSchema,
      decodeBase64Json(event.data?.message?.data, 'processor outcome'),
      'processor outcome',
    );
  } catch (error) {
    await rejectOrchestratorMessage(deps, event, error);
    return null;
  }
  const { runId, requestId, phase, processor } = outcome;
  const logger = deps.logger.child({ runId, requestId, phase, processor });
  if (isFailure(outcome)) {
    const run = await recordFailureNotice(deps, outcome);
    const fields = { outcome: outcome.outcome, errorType: outcome.errorType };
    logger.warn(fields, 'processor failure recorded on the run');
    return { outcome, run };
  }
  const fanIn = await recordFanIn(deps, outcome, logger);
  const recorded = { outcome, run: fanIn.run };
  switch (fanIn.state) {
    case 'superseded':
      await ackSupersededCompletion(deps, outcome, fanIn.currentRunId, logger);
      return recorded;
    case 'unexpected':
    case 'waiting':
      return recorded;
    case 'decided':
      // Already decided: its entries are recovered (a crash may have stopped that), and what was
      // decided must leave (likewise).
      await Promise.all([closeEntries(deps, outcome, logger), flushNext(deps, event, outcome)]);
      return recorded;
    case 'complete':
      return {
        outcome,
        run: (await gateAndDecide(deps, steps, event, outcome, fanIn.phaseDoc, logger)) ?? fanIn.run,
      };
  }
}

/** Gates a complete phase and decides it, once; returns the run as the decision left it. */
async function gateAndDecide(
  deps: OrchestratorDeps,
  steps: OrchestrationSteps,
  event: PubSubCloudEvent,
  completion: ProcessorCompleted,
  phaseDoc: RunPhaseDoc,
  logger: Logger,
): Promise<RunDoc | undefined> {
  const decisionId = phaseDecisionId(completion.runId, completion.phase);
  // A phase whose gate failed is decided again by the retried processor's completion, without a claim.
  // The gate only reads, so it runs while the claim is taken: a delivery that loses the claim (rare:
  // the last completions arriving together) has read for nothing, and acks whatever its gate met;
  // the winner saves a round trip.
  const [claimed, gated] = await Promise.all([
    phaseDoc.status === 'gate_failed' || claimDecision(deps, decisionId, completion.requestId),
    runGate({
      store: deps.store,
      phase: deps.definition.phase(completion.phase),
      processors: phaseDoc.expected,
      runId: completion.runId,
      partition: completion.partition,
      expectations: deps.expectations,
    }).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    ),
  ]);
  if (!claimed) {
    logger.info({ phase: completion.phase }, 'phase being decided by another delivery');
    return undefined;
  }
  if ('error' in gated) throw gated.error;
  const gate = gated.result;
  const decision = await steps.decidePhase(deps, completion, gate, messageIdOf(event));
  if (decision.superseded) {
    await ackSupersededCompletion(deps, completion, decision.superseded, logger);
    return undefined;
  }
  if (decision.cancelled) {
    logger.info({ phase: completion.phase }, 'completion of a cancelled run: recorded, nothing decided');
    return decision.run;
  }
  if (!gate.passed) {
    await alertGateFailure(deps, completion, gate, decision, logger);
    return decision.run;
  }
  const next = decision.next;
  const [, sent] = await Promise.all([
    closeEntries(deps, completion, logger),
    next ? sendOutboxEntries(deps.store, deps.publisher, next.entries, () => deps.clock.now()) : 0,
  ]);
  if (next) logger.info({ nextDecision: next.decisionId, sent }, 'gate passed: next phase triggered');
  else {
    const last = !deps.definition.nextPhase(completion.phase);
    const message = last
      ? 'last phase passed its gate: run complete'
      : 'phase already decided by another delivery';
    logger.info({ phase: completion.phase }, message);
  }
  return decision.run;
}

async function alertGateFailure(
  deps: OrchestratorDeps,
  completion: ProcessorCompleted,
  gate: GateResult,
  decision: PhaseDecision,
  logger: Logger,
): Promise<void> {
  const shortfalls = describeShortfalls(gate.shortfalls);
  logger.error({ shortfalls: gate.shortfalls }, `gate of phase ${completion.phase} failed: ${shortfalls}`);
  await deps.notifier?.({
    kind: 'gate_failed',
    dedupKey: `gate_failed:${completion.phase}:${gate.shortfalls.map((s) => s.collection).join(',')}`,
    runId: completion.runId,
    partition: completion.partition,
    phase: completion.phase,
    processor: null,
    message: `run ${completion.runId}: ${shortfalls}`,
  });
  for (const entry of decision.exhausted) {
    await deps.notifier?.({
      kind: 'failed_permanent',
      dedupKey: `failed_permanent:${entry.phase}:${entry.processor ?? '-'}:gate_failed`,
      runId: entry.runId,
      partition: entry.partition,
      phase: entry.phase,
      processor: entry.processor,
      requestId: entry.requestId,
      message: `${entry.requestId}: ${entry.lastError}`,
    });
  }
}

async function closeEntries(deps: OrchestratorDeps, completion: ProcessorCompleted, logger: Logger) {
  const closed = await closePhaseEntries(deps, completion.runId, completion.phase);
  if (closed.length > 0) logger.info({ closed }, 'queue entries recovered: their phase passed its gate');
}

/** Sends what the phase's decision put in the outbox for the next phase (again, after a crash). */
async function flushNext(deps: OrchestratorDeps, event: PubSubCloudEvent, completion: ProcessorCompleted) {
  const next = deps.definition.nextPhase(completion.phase);
  if (!next) return;
  const decisionId = phaseDecisionId(completion.runId, next.id);
  await flushOutbox(deps.store, deps.publisher, decisionId, () => deps.clock.now(), messageIdOf(event));
}
