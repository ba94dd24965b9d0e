import { decodeBase64Json, parseMessage } from '../messages/decode.ts';
import { isFailure, ProcessorOutcomeSchema, type ProcessorCompleted } from '../messages/messages.ts';
import type { Logger } from '../ports/logger.ts';
import { messageIdOf, type PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import { ackSupersededCompletion } from './ack-superseded-completion.ts';
import { claimDecision } from './claim-decision.ts';
import { closePhaseEntries } from './close-phase-entries.ts';
import type { PhaseDecision } from './decide-phase.ts';
import { describeShortfalls, runGate, type GateResult } from './gate.ts';
import type { OrchestrationSteps, OrchestratorDeps } from './orchestrator.ts';
import { flushOutbox } from './outbox.ts';
import { recordFailureNotice } from './record-failure-notice.ts';
import { recordFanIn } from './record-fan-in.ts';
import { rejectOrchestratorMessage } from './reject.ts';
import { phaseDecisionId, type RunPhaseDoc } from './run-doc.ts';

/**
 * `processor-completions`: a failure notice is shown on its run; a completion is recorded (the
 * fan-in) and, when its phase is complete, the phase is gated and the next one triggered, once.
 */
export async function recordOutcome(
  deps: OrchestratorDeps,
  steps: OrchestrationSteps,
  event: PubSubCloudEvent,
): Promise<void> {
  let outcome;
  try {
    outcome = parseMessage(
      ProcessorOutcomeSchema,
      decodeBase64Json(event.data?.message?.data, 'processor outcome'),
      'processor outcome',
    );
  } catch (error) {
    return rejectOrchestratorMessage(deps, event, error);
  }
  const { runId, requestId, phase, processor } = outcome;
  const logger = deps.logger.child({ runId, requestId, phase, processor });
  if (isFailure(outcome)) {
    await recordFailureNotice(deps, outcome);
    const fields = { outcome: outcome.outcome, errorType: outcome.errorType };
    logger.warn(fields, 'processor failure recorded on the run');
    return;
  }
  const fanIn = await recordFanIn(deps, outcome, logger);
  switch (fanIn.state) {
    case 'superseded':
      return ackSupersededCompletion(deps, outcome, fanIn.currentRunId, logger);
    case 'unexpected':
    case 'waiting':
      return;
    case 'decided':
      // Already decided: its entries are recovered (a crash may have stopped that), and what was
      // decided must leave (likewise).
      await closeEntries(deps, outcome, logger);
      return flushNext(deps, event, outcome);
    case 'complete':
      return gateAndDecide(deps, steps, event, outcome, fanIn.phaseDoc, logger);
  }
}

async function gateAndDecide(
  deps: OrchestratorDeps,
  steps: OrchestrationSteps,
  event: PubSubCloudEvent,
  completion: ProcessorCompleted,
  phaseDoc: RunPhaseDoc,
  logger: Logger,
): Promise<void> {
  const decisionId = phaseDecisionId(completion.runId, completion.phase);
  // A phase whose gate failed is decided again by the retried processor's completion, without a claim.
  if (phaseDoc.status !== 'gate_failed' && !(await claimDecision(deps, decisionId, completion.requestId))) {
    logger.info({ phase: completion.phase }, 'phase being decided by another delivery');
    return;
  }
  const gate = await runGate({
    store: deps.store,
    phase: deps.definition.phase(completion.phase),
    processors: phaseDoc.expected,
    runId: completion.runId,
    partition: completion.partition,
    expectations: deps.expectations,
  });
  const decision = await steps.decidePhase(deps, completion, gate);
  if (decision.superseded) return ackSupersededCompletion(deps, completion, decision.superseded, logger);
  if (!gate.passed) return alertGateFailure(deps, completion, gate, decision, logger);
  await closeEntries(deps, completion, logger);
  if (!decision.next) {
    const last = !deps.definition.nextPhase(completion.phase);
    const message = last
      ? 'last phase passed its gate: run complete'
      : 'phase already decided by another delivery';
    logger.info({ phase: completion.phase }, message);
    return;
  }
  const sent = await flushOutbox(
    deps.store,
    deps.publisher,
    decision.next,
    () => deps.clock.now(),
    messageIdOf(event),
  );
  logger.info({ nextDecision: decision.next, sent }, 'gate passed: next phase triggered');
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
    phase: completion.phase,
    processor: null,
    message: `run ${completion.runId}: ${shortfalls}`,
  });
  for (const entry of decision.exhausted) {
    await deps.notifier?.({
      kind: 'failed_permanent',
      dedupKey: `failed_permanent:${entry.phase}:${entry.processor ?? '-'}:gate_failed`,
      runId: entry.runId,
      phase: entry.phase,
      processor: entry.processor,
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
