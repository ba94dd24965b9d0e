import { decodeBase64Json, parseMessage } from '../messages/decode.ts';
import { childTraceparent } from '../messages/fields.ts';
import { isFailure, makeRequestId, phaseTopic, ProcessorOutcomeSchema, type ProcessorCompleted, type ProcessorFailed, type ProcessorRequest } from '../messages/messages.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { messageIdOf, type PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import { describeShortfalls, runGate, type GateResult } from './gate.ts';
import { addToOutbox, flushOutbox } from './outbox.ts';
import { phaseDecisionId, updateRun, type RunDoc, type RunPhaseDoc } from './run-doc.ts';
import type { OrchestratorDeps } from './orchestrator.ts';
import { rejectOrchestratorMessage } from './reject.ts';
import { markQueueSucceeded } from '../recovery/mark-succeeded.ts';

/** How long a gate-failed processor waits before the auto-retry re-runs it. */
export const GATE_RETRY_DELAY_MS = 60_000;
/** A claim this old no longer stops another delivery from deciding (its owner is gone). */
export const CLAIM_STALE_MS = 60_000;

/**
 * The last completions of a phase often arrive together, and both would run the decision
 * transaction: two read-write transactions on the same documents wait on each other's locks
 * (about 2 s on the emulator, each phase). The first delivery to create the claim decides; a
 * redelivery of that same completion decides again (its owner crashed or failed); a stale
 * claim stops nobody. The decision itself stays a transaction: the claim only saves the wait.
 */
async function claimDecision(deps: OrchestratorDeps, decisionId: string, requestId: string): Promise<boolean> {
  const now = deps.clock.now();
  if (await deps.store.create(COLLECTIONS.decisionClaims, decisionId, { decisionId, owner: requestId, at: now.toISOString() })) return true;
  const claim = await deps.store.get(COLLECTIONS.decisionClaims, decisionId);
  if (!claim || claim.owner === requestId) return true;
  return now.getTime() - Date.parse(String(claim.at)) > CLAIM_STALE_MS;
}

async function recordFailureNotice(deps: OrchestratorDeps, notice: ProcessorFailed): Promise<void> {
  const now = deps.clock.now().toISOString();
  await deps.store.transaction(async (tx) => {
    const run = (await tx.get(COLLECTIONS.runs, notice.runId)) as RunDoc | undefined;
    if (!run) return;
    const updated = updateRun(run, now, `${notice.processor} ${notice.outcome}`, (draft) => {
      draft.failures[notice.processor] = { phase: notice.phase, status: notice.outcome, errorType: notice.errorType, message: notice.message, at: notice.failedAt };
    });
    tx.set(COLLECTIONS.runs, notice.runId, { ...updated });
  });
}

/**
 * The one trigger decision of a phase, in a transaction on its own run_phases document
 * (contended only by the last completions of that phase, never by every completion).
 * Writes the next phase's requests to the outbox in the same transaction.
 */
async function decide(deps: OrchestratorDeps, completion: ProcessorCompleted, phaseDoc: RunPhaseDoc, gate: GateResult): Promise<string | null> {
  const now = deps.clock.now().toISOString();
  const decisionId = phaseDecisionId(completion.runId, completion.phase);
  const next = deps.definition.nextPhase(completion.phase);
  return deps.store.transaction(async (tx) => {
    const current = (await tx.get(COLLECTIONS.runPhases, decisionId)) as RunPhaseDoc | undefined;
    const run = (await tx.get(COLLECTIONS.runs, completion.runId)) as RunDoc | undefined;
    if (!current || !run || current.status === 'gate_passed') return null;
    if (current.status === 'gate_failed' && !gate.passed) return null;
    const eventId = `${decisionId}--${gate.passed ? 'gate_passed' : 'gate_failed'}${current.status === 'gate_failed' ? `-${now}` : ''}`;
    tx.set(COLLECTIONS.runPhases, decisionId, { ...current, status: gate.passed ? 'gate_passed' : 'gate_failed', decidedAt: now, gate: { ...gate } });
    tx.set(COLLECTIONS.events, eventId, { eventId, type: gate.passed ? 'gate_passed' : 'gate_failed', at: now, runId: run.runId, requestId: null, gameDate: run.gameDate, phase: completion.phase, processor: null, attempt: null, triggerSource: run.triggerSource, traceparent: completion.traceparent, parentEventId: completion.parentEventId, checks: gate.checks, shortfalls: gate.shortfalls, message: gate.passed ? null : describeShortfalls(gate.shortfalls) });
    const nextDecision = next && gate.passed ? phaseDecisionId(run.runId, next.id) : null;
    const updated = updateRun(run, now, gate.passed ? `gate of ${completion.phase} passed` : `gate of ${completion.phase} failed`, (draft) => {
      const state = draft.phases[completion.phase];
      if (state) {
        state.status = gate.passed ? 'SUCCEEDED' : 'GATE_FAILED';
        state.done = phaseDoc.expected.length;
      }
      if (gate.passed) delete draft.gateFailures[completion.phase];
      else draft.gateFailures[completion.phase] = describeShortfalls(gate.shortfalls);
      if (next && gate.passed && draft.phases[next.id]) draft.phases[next.id]!.status = 'RUNNING';
    });
    tx.set(COLLECTIONS.runs, run.runId, { ...updated });
    if (!gate.passed) {
      // The processors whose outputs fell short go to the queue, to be re-run.
      const responsible = [...new Set(gate.shortfalls.flatMap((s) => s.processors))];
      for (const processor of responsible) {
        const requestId = makeRequestId({ runId: run.runId, phase: completion.phase, processor });
        const request: ProcessorRequest = { runId: run.runId, requestId, gameDate: run.gameDate, phase: completion.phase, processor, triggerSource: 'retry', parentEventId: eventId, traceparent: childTraceparent(completion.traceparent) };
        tx.set(COLLECTIONS.queue, requestId, {
          requestId, status: 'pending', errorType: 'transient', errorReason: 'gate_failed', errorName: 'GateFailed', lastError: describeShortfalls(gate.shortfalls.filter((s) => s.processors.includes(processor))), stack: null,
          needsManualFix: false, runId: run.runId, gameDate: run.gameDate, phase: completion.phase, processor, request, originalMessage: null, failureEventId: eventId,
          firstFailedAt: now, lastFailedAt: now, occurrences: 1, retryCount: 0, nextRetryAt: new Date(deps.clock.now().getTime() + GATE_RETRY_DELAY_MS).toISOString(), deadlineAt: null, updatedAt: now,
        });
      }
      return null;
    }
    if (next && nextDecision) {
      const nextDoc: RunPhaseDoc = { runId: run.runId, phase: next.id, gameDate: run.gameDate, expected: next.processors.map((p) => p.name), status: 'running', startedAt: now, decidedAt: null, gate: null };
      tx.set(COLLECTIONS.runPhases, nextDecision, { ...nextDoc });
      for (const processor of nextDoc.expected) {
        const message: ProcessorRequest = { runId: run.runId, requestId: makeRequestId({ runId: run.runId, phase: next.id, processor }), gameDate: run.gameDate, phase: next.id, processor, triggerSource: run.triggerSource as ProcessorRequest['triggerSource'], parentEventId: eventId, traceparent: childTraceparent(completion.traceparent) };
        addToOutbox(tx, { id: `${nextDecision}--${processor}`, decisionId: nextDecision, runId: run.runId, topic: phaseTopic(next.id), message: { ...message }, attributes: { requestId: message.requestId }, status: 'pending', createdAt: now, sentAt: null });
      }
    }
    return nextDecision;
  });
}

/** `processor-completions`: record idempotently; when a phase is complete, gate it and trigger the next phase once. */
export async function handleProcessorOutcome(deps: OrchestratorDeps, event: PubSubCloudEvent): Promise<void> {
  let outcome;
  try {
    outcome = parseMessage(ProcessorOutcomeSchema, decodeBase64Json(event.data?.message?.data, 'processor outcome'), 'processor outcome');
  } catch (error) {
    return rejectOrchestratorMessage(deps, event, error);
  }
  const logger = deps.logger.child({ runId: outcome.runId, requestId: outcome.requestId, phase: outcome.phase, processor: outcome.processor });
  if (isFailure(outcome)) {
    await recordFailureNotice(deps, outcome);
    logger.warn({ outcome: outcome.outcome, errorType: outcome.errorType }, 'processor failure recorded on the run');
    return;
  }
  const decisionId = phaseDecisionId(outcome.runId, outcome.phase);
  // Independent reads and writes go together: this handler is the pipeline's fan-in.
  const [, recovered, phaseDoc, run] = await Promise.all([
    deps.store.set(COLLECTIONS.runCompletions, outcome.requestId, { runId: outcome.runId, phase: outcome.phase, processor: outcome.processor, gameDate: outcome.gameDate, completedAt: outcome.completedAt, records: outcome.records, metrics: outcome.metrics }),
    markQueueSucceeded(deps.store, [outcome.requestId, `completion-${outcome.requestId}`], deps.clock.now().toISOString(), `completed (${outcome.triggerSource})`),
    deps.store.get(COLLECTIONS.runPhases, decisionId) as Promise<RunPhaseDoc | undefined>,
    deps.store.get(COLLECTIONS.runs, outcome.runId) as Promise<RunDoc | undefined>,
  ]);
  if (recovered.length > 0) logger.info({ recovered }, 'queue entry recovered: the retried request completed');
  if (!phaseDoc) {
    logger.info({}, 'completion for a request no run is waiting for (published by hand?): recorded, nothing to trigger');
    return;
  }
  if (run?.failures[outcome.processor]) {
    // A retried processor succeeded: its failure no longer counts against the run.
    await deps.store.transaction(async (tx) => {
      const current = (await tx.get(COLLECTIONS.runs, outcome.runId)) as RunDoc | undefined;
      if (!current?.failures[outcome.processor]) return;
      tx.set(COLLECTIONS.runs, outcome.runId, { ...updateRun(current, deps.clock.now().toISOString(), `${outcome.processor} recovered`, (d) => void delete d.failures[outcome.processor]) });
    });
  }
  if (phaseDoc.status === 'gate_passed') {
    // Already decided: make sure what was decided left (a crash may have stopped it).
    const next = deps.definition.nextPhase(outcome.phase);
    if (next) await flushOutbox(deps.store, deps.publisher, phaseDecisionId(outcome.runId, next.id), () => deps.clock.now(), messageIdOf(event));
    return;
  }
  const done = await deps.store.query(COLLECTIONS.runCompletions, { filters: [{ field: 'runId', op: '==', value: outcome.runId }, { field: 'phase', op: '==', value: outcome.phase }] });
  const completed = new Set(done.map((d) => d.data.processor));
  const waitingFor = phaseDoc.expected.filter((p) => !completed.has(p));
  if (waitingFor.length > 0) {
    logger.info({ done: phaseDoc.expected.length - waitingFor.length, expected: phaseDoc.expected.length, waitingFor }, 'completion recorded');
    return;
  }
  // A phase whose gate failed is decided again by the retried processor's completion, without a claim.
  if (phaseDoc.status !== 'gate_failed' && !(await claimDecision(deps, decisionId, outcome.requestId))) {
    logger.info({ phase: outcome.phase }, 'phase being decided by another delivery');
    return;
  }
  const gate = await runGate({ store: deps.store, phase: deps.definition.phase(outcome.phase), processors: phaseDoc.expected, runId: outcome.runId, gameDate: outcome.gameDate, expectations: deps.expectations });
  const nextDecision = await decide(deps, outcome, phaseDoc, gate);
  if (!gate.passed) {
    logger.error({ shortfalls: gate.shortfalls }, `gate of phase ${outcome.phase} failed: ${describeShortfalls(gate.shortfalls)}`);
    await deps.notifier?.({ kind: 'gate_failed', dedupKey: `gate_failed:${outcome.phase}:${gate.shortfalls.map((s) => s.collection).join(',')}`, runId: outcome.runId, phase: outcome.phase, processor: null, message: `run ${outcome.runId}: ${describeShortfalls(gate.shortfalls)}` });
    return;
  }
  if (!nextDecision) {
    logger.info({ phase: outcome.phase }, deps.definition.nextPhase(outcome.phase) ? 'phase already decided by another delivery' : 'last phase passed its gate: run complete');
    return;
  }
  deps.faults?.crashPoint('after-trigger-decision');
  const sent = await flushOutbox(deps.store, deps.publisher, nextDecision, () => deps.clock.now(), messageIdOf(event));
  logger.info({ nextDecision, sent }, 'gate passed: next phase triggered');
}
