import { decodeBase64Json, parseMessage } from '../messages/decode.ts';
import { childTraceparent } from '../messages/fields.ts';
import {
  isFailure,
  makeRequestId,
  phaseTopic,
  ProcessorOutcomeSchema,
  type ProcessorCompleted,
  type ProcessorFailed,
  type ProcessorRequest,
} from '../messages/messages.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { messageIdOf, type PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import { describeShortfalls, runGate, type GateResult } from './gate.ts';
import { addToOutbox, flushOutbox } from './outbox.ts';
import { phaseDecisionId, updateRun, type RunDoc, type RunPhaseDoc } from './run-doc.ts';
import type { OrchestratorDeps } from './orchestrator.ts';
import { rejectOrchestratorMessage } from './reject.ts';
import { markQueueSucceeded } from '../recovery/mark-succeeded.ts';
import { supersedeEntries } from '../recovery/supersede.ts';
import { recordSuperseded } from './generation.ts';
import { asEntry, recordTransition, type QueueEntry } from '../recovery/queue-entry.ts';
import { nextRetryDelayMs, OPEN_STATUSES } from '../recovery/queue-policy.ts';
import type { QueueStatus } from '../runtime/failure-queue.ts';
import type { Transaction } from '../ports/store.ts';
import type { Logger } from '../ports/logger.ts';

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
async function claimDecision(
  deps: OrchestratorDeps,
  decisionId: string,
  requestId: string,
): Promise<boolean> {
  const now = deps.clock.now();
  if (
    await deps.store.create(COLLECTIONS.decisionClaims, decisionId, {
      decisionId,
      owner: requestId,
      at: now.toISOString(),
    })
  )
    return true;
  const claim = await deps.store.get(COLLECTIONS.decisionClaims, decisionId);
  if (!claim || claim.owner === requestId) return true;
  return now.getTime() - Date.parse(String(claim.at)) > CLAIM_STALE_MS;
}

async function recordFailureNotice(deps: OrchestratorDeps, notice: ProcessorFailed): Promise<void> {
  const now = deps.clock.now().toISOString();
  await deps.store.transaction(async (tx) => {
    const run = (await tx.get(COLLECTIONS.runs, notice.runId)) as RunDoc | undefined;
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

/**
 * The one trigger decision of a phase, in a transaction on its own run_phases document
 * (contended only by the last completions of that phase, never by every completion).
 * Writes the next phase's requests to the outbox in the same transaction.
 */
async function decide(
  deps: OrchestratorDeps,
  completion: ProcessorCompleted,
  phaseDoc: RunPhaseDoc,
  gate: GateResult,
): Promise<Decision> {
  const now = deps.clock.now().toISOString();
  const decisionId = phaseDecisionId(completion.runId, completion.phase);
  const next = deps.definition.nextPhase(completion.phase);
  return deps.store.transaction(async (tx) => {
    const current = (await tx.get(COLLECTIONS.runPhases, decisionId)) as RunPhaseDoc | undefined;
    const run = (await tx.get(COLLECTIONS.runs, completion.runId)) as RunDoc | undefined;
    // A run superseded since its completion was read decides nothing (the newer run took the lock
    // and marked this one in one transaction).
    if (run?.supersededBy) return { next: null, exhausted: [], superseded: run.supersededBy };
    if (!current || !run || current.status === 'gate_passed') return { next: null, exhausted: [] };
    // Every read before any write (Firestore's rule for transactions): the entries of the
    // processors that fell short, when the gate failed.
    const shortEntries = gate.passed ? [] : await readGateEntries(tx, run, completion.phase, gate);
    // Failed again, after a re-run: the entries of the processors still short are counted again.
    if (current.status === 'gate_failed' && !gate.passed)
      return {
        next: null,
        exhausted: writeGateEntries(deps, tx, run, completion, gate, shortEntries, now, null),
      };
    // A partition with nothing to process succeeds, and says so: every expectation was 0.
    const nothing = gate.passed && gate.checks.every((c) => c.expected === 0 && c.found === 0);
    const reason = gate.passed
      ? `gate of ${completion.phase} passed${nothing ? `: nothing expected for ${run.partition} (no data for the partition)` : ''}`
      : `gate of ${completion.phase} failed`;
    const eventId = `${decisionId}--${gate.passed ? 'gate_passed' : 'gate_failed'}${current.status === 'gate_failed' ? `-${now}` : ''}`;
    tx.set(COLLECTIONS.runPhases, decisionId, {
      ...current,
      status: gate.passed ? 'gate_passed' : 'gate_failed',
      decidedAt: now,
      gate: { ...gate },
    });
    tx.set(COLLECTIONS.events, eventId, {
      eventId,
      type: gate.passed ? 'gate_passed' : 'gate_failed',
      at: now,
      runId: run.runId,
      requestId: null,
      partition: run.partition,
      phase: completion.phase,
      processor: null,
      attempt: null,
      triggerSource: run.triggerSource,
      traceparent: completion.traceparent,
      parentEventId: completion.parentEventId,
      checks: gate.checks,
      shortfalls: gate.shortfalls,
      message: gate.passed ? (nothing ? reason : null) : describeShortfalls(gate.shortfalls),
    });
    const nextDecision = next && gate.passed ? phaseDecisionId(run.runId, next.id) : null;
    const updated = updateRun(run, now, reason, (draft) => {
      const state = draft.phases[completion.phase];
      if (state) {
        state.status = gate.passed ? 'SUCCEEDED' : 'GATE_FAILED';
        state.done = phaseDoc.expected.length;
      }
      if (nothing)
        draft.notes = [
          ...new Set([
            ...(draft.notes ?? []),
            `phase ${completion.phase}: nothing expected for ${run.partition} (no data for the partition)`,
          ]),
        ];
      if (gate.passed) delete draft.gateFailures[completion.phase];
      else draft.gateFailures[completion.phase] = describeShortfalls(gate.shortfalls);
      if (next && gate.passed && draft.phases[next.id]) draft.phases[next.id]!.status = 'RUNNING';
    });
    tx.set(COLLECTIONS.runs, run.runId, { ...updated });
    if (!gate.passed) {
      // The processors whose outputs fell short go to the queue, to be re-run (an entry they
      // already have is counted, never reset).
      return {
        next: null,
        exhausted: writeGateEntries(deps, tx, run, completion, gate, shortEntries, now, eventId),
      };
    }
    if (next && nextDecision) {
      const nextDoc: RunPhaseDoc = {
        runId: run.runId,
        phase: next.id,
        partition: run.partition,
        expected: next.processors.map((p) => p.name),
        status: 'running',
        startedAt: now,
        decidedAt: null,
        gate: null,
      };
      tx.set(COLLECTIONS.runPhases, nextDecision, { ...nextDoc });
      for (const processor of nextDoc.expected) {
        const message: ProcessorRequest = {
          runId: run.runId,
          requestId: makeRequestId({ runId: run.runId, phase: next.id, processor }),
          partition: run.partition,
          phase: next.id,
          processor,
          triggerSource: run.triggerSource as ProcessorRequest['triggerSource'],
          parentEventId: eventId,
          traceparent: childTraceparent(completion.traceparent),
        };
        addToOutbox(tx, {
          id: `${nextDecision}--${processor}`,
          decisionId: nextDecision,
          runId: run.runId,
          topic: phaseTopic(next.id),
          message: { ...message },
          attributes: { requestId: message.requestId },
          status: 'pending',
          createdAt: now,
          sentAt: null,
        });
      }
    }
    return { next: nextDecision, exhausted: [] };
  });
}

interface Decision {
  /** The next phase's decision, when this one triggered it. */
  next: string | null;
  /** Queue entries that ran out of retries on this gate failure (to alert on). */
  exhausted: QueueEntry[];
  /** The run was superseded (by this run) since its completion was read: nothing was decided. */
  superseded?: string;
}

/**
 * Writes the queue entries of a failed gate, for the processors whose outputs fell short. A missing one
 * is created `pending`. One whose re-run completed and was waiting for this gate (`awaitingGate`)
 * is counted again: `pending` with backoff, or past `maxRetries` `failed_permanent`, NEEDS MANUAL FIX
 * (returned, to alert on). One closed as recovered (not by a person) is re-opened: its data is
 * still short. A re-run still running, an entry still open, one a person resolved or discarded:
 * as they are.
 */
type GateEntry = { processor: string; requestId: string; entry: QueueEntry | undefined };

/** The queue entries of the processors a failed gate found short (read in the decision's transaction). */
async function readGateEntries(
  tx: Transaction,
  run: RunDoc,
  phase: string,
  gate: GateResult,
): Promise<GateEntry[]> {
  const responsible = [...new Set(gate.shortfalls.flatMap((s) => s.processors))];
  return Promise.all(
    responsible.map(async (processor) => {
      const requestId = makeRequestId({ runId: run.runId, phase, processor });
      return { processor, requestId, entry: asEntry(await tx.get(COLLECTIONS.queue, requestId)) };
    }),
  );
}

function writeGateEntries(
  deps: OrchestratorDeps,
  tx: Transaction,
  run: RunDoc,
  completion: ProcessorCompleted,
  gate: GateResult,
  entries: readonly GateEntry[],
  now: string,
  gateEventId: string | null,
): QueueEntry[] {
  const queue = deps.definition.queue;
  const phase = completion.phase;
  const exhausted: QueueEntry[] = [];
  for (const { processor, requestId, entry } of entries) {
    const own = gate.shortfalls.filter((s) => s.processors.includes(processor));
    const lastError = describeShortfalls(own);
    // No expectation for an output is a definition bug: a re-run cannot fix it, a person must.
    const definitionBug = own.every((s) => s.noExpectation);
    const nextRetryAt = (retries: number) =>
      new Date(
        Date.parse(now) + (retries === 0 ? GATE_RETRY_DELAY_MS : nextRetryDelayMs(queue, retries)),
      ).toISOString();
    if (!entry) {
      const request: ProcessorRequest = {
        runId: run.runId,
        requestId,
        partition: run.partition,
        phase,
        processor,
        triggerSource: 'retry',
        parentEventId: gateEventId ?? completion.parentEventId,
        traceparent: childTraceparent(completion.traceparent),
      };
      const created = {
        requestId,
        status: definitionBug ? 'failed_permanent' : 'pending',
        errorType: definitionBug ? 'permanent' : 'transient',
        errorReason: definitionBug ? 'gate_no_expectation' : 'gate_failed',
        errorName: 'GateFailed',
        lastError,
        stack: null,
        needsManualFix: definitionBug,
        runId: run.runId,
        partition: run.partition,
        phase,
        processor,
        request,
        originalMessage: null,
        failureEventId: gateEventId,
        firstFailedAt: now,
        lastFailedAt: now,
        occurrences: 1,
        retryCount: 0,
        waitChecks: 0,
        nextRetryAt: definitionBug ? null : nextRetryAt(0),
        deadlineAt: null,
        updatedAt: now,
      } as const;
      tx.set(COLLECTIONS.queue, requestId, created);
      if (definitionBug) exhausted.push(created);
      continue;
    }
    const reopen = entry.status === 'succeeded' && !entry.resolvedAt;
    const rerunDone = entry.status === 'retrying' && entry.awaitingGate === true;
    if (!reopen && !rerunDone) continue;
    const occurrences = (entry.occurrences ?? 0) + 1;
    if (entry.retryCount >= queue.maxRetries || definitionBug) {
      const message = definitionBug
        ? lastError
        : `gate still failing after ${entry.retryCount} re-runs: ${lastError}`;
      recordTransition(tx, {
        entry,
        type: 'queue_failed_permanent',
        at: now,
        from: entry.status,
        to: 'failed_permanent',
        message,
      });
      tx.set(
        COLLECTIONS.queue,
        requestId,
        {
          status: 'failed_permanent',
          needsManualFix: true,
          awaitingGate: false,
          nextRetryAt: null,
          lastError: message,
          lastFailedAt: now,
          occurrences,
          updatedAt: now,
        },
        { merge: true },
      );
      exhausted.push({ ...entry, lastError: message });
      continue;
    }
    recordTransition(tx, {
      entry,
      type: 'gate_failed_again',
      at: now,
      from: entry.status,
      to: 'pending',
      message: `re-run ${entry.retryCount} of ${queue.maxRetries} still short: ${lastError}`,
    });
    tx.set(
      COLLECTIONS.queue,
      requestId,
      {
        status: 'pending',
        needsManualFix: false,
        awaitingGate: false,
        nextRetryAt: nextRetryAt(entry.retryCount),
        lastError,
        lastFailedAt: now,
        occurrences,
        updatedAt: now,
      },
      { merge: true },
    );
  }
  return exhausted;
}

/**
 * A retried request completed, but its phase has not passed its gate: its entry waits for the
 * gate (`awaitingGate`, no `nextRetryAt`, so no tick re-runs it meanwhile). The gate passing closes
 * it; the gate failing again counts it.
 */
async function parkForGate(deps: OrchestratorDeps, requestId: string, by: string): Promise<boolean> {
  const entry = asEntry(await deps.store.get(COLLECTIONS.queue, requestId));
  if (!entry || !['pending', 'retrying', 'waiting'].includes(entry.status) || entry.awaitingGate)
    return false;
  return deps.store.transaction(async (tx) => {
    const current = asEntry(await tx.get(COLLECTIONS.queue, requestId));
    if (!current || !['pending', 'retrying', 'waiting'].includes(current.status) || current.awaitingGate)
      return false;
    // No gate of a superseded run will decide: its entry is settled by supersession, not parked.
    if (current.runId && (await tx.get(COLLECTIONS.runs, current.runId))?.supersededBy) return false;
    const at = deps.clock.now().toISOString();
    recordTransition(tx, {
      entry: current,
      type: 'retry_completed',
      at,
      from: current.status,
      to: 'retrying',
      message: `${by}; waiting for the gate of ${current.phase}`,
    });
    tx.set(
      COLLECTIONS.queue,
      requestId,
      { status: 'retrying', awaitingGate: true, nextRetryAt: null, updatedAt: at },
      { merge: true },
    );
    return true;
  });
}

/** The phase passed its gate in this run: every open entry of it is recovered now (and only now). */
async function closePhaseEntries(
  deps: OrchestratorDeps,
  runId: string,
  phase: string,
  by: string,
): Promise<string[]> {
  const open = await deps.store.query(COLLECTIONS.queue, {
    filters: [
      { field: 'runId', op: '==', value: runId },
      { field: 'phase', op: '==', value: phase },
    ],
  });
  const ids = open.filter((e) => OPEN_STATUSES.includes(e.data.status as QueueStatus)).map((e) => e.id);
  return ids.length ? markQueueSucceeded(deps.store, ids, deps.clock.now().toISOString(), by) : [];
}

/** A completion of a superseded run: an event, its entries closed or re-targeted, nothing decided. */
async function ackSupersededCompletion(
  deps: OrchestratorDeps,
  outcome: ProcessorCompleted,
  currentRunId: string,
  logger: Logger,
): Promise<void> {
  const at = deps.clock.now().toISOString();
  await recordSuperseded(deps.store, {
    what: 'completion',
    runId: outcome.runId,
    currentRunId,
    partition: outcome.partition,
    phase: outcome.phase,
    requestId: outcome.requestId,
    processor: outcome.processor,
    traceparent: outcome.traceparent,
    at,
  });
  await supersedeEntries(deps.store, [outcome.requestId, `completion-${outcome.requestId}`], at);
  logger.info({ currentRunId }, 'completion of a superseded run: recorded as history, nothing decided');
}

/** `processor-completions`: record idempotently; when a phase is complete, gate it and trigger the next phase once. */
export async function handleProcessorOutcome(deps: OrchestratorDeps, event: PubSubCloudEvent): Promise<void> {
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
  const logger = deps.logger.child({
    runId: outcome.runId,
    requestId: outcome.requestId,
    phase: outcome.phase,
    processor: outcome.processor,
  });
  if (isFailure(outcome)) {
    await recordFailureNotice(deps, outcome);
    logger.warn(
      { outcome: outcome.outcome, errorType: outcome.errorType },
      'processor failure recorded on the run',
    );
    return;
  }
  const decisionId = phaseDecisionId(outcome.runId, outcome.phase);
  // Independent reads and writes go together: this handler is the pipeline's fan-in. (The
  // completion record is kept even for a superseded run: it is history, not the partition's data.)
  const [, phaseDoc, run] = await Promise.all([
    deps.store.set(COLLECTIONS.runCompletions, outcome.requestId, {
      runId: outcome.runId,
      phase: outcome.phase,
      processor: outcome.processor,
      partition: outcome.partition,
      completedAt: outcome.completedAt,
      records: outcome.records,
      metrics: outcome.metrics,
    }),
    deps.store.get(COLLECTIONS.runPhases, decisionId) as Promise<RunPhaseDoc | undefined>,
    deps.store.get(COLLECTIONS.runs, outcome.runId) as Promise<RunDoc | undefined>,
  ]);
  // A newer run holds the partition (its start marked this one in the transaction that took the lock):
  // this completion decides nothing.
  if (run?.supersededBy) return ackSupersededCompletion(deps, outcome, run.supersededBy, logger);
  // The completion's own delivery, once dead-lettered, is recovered now that it is recorded. The
  // request's entry waits for the phase's gate: a completion is not data that passed.
  const recovered = await markQueueSucceeded(
    deps.store,
    [`completion-${outcome.requestId}`],
    deps.clock.now().toISOString(),
    `completion recorded (${outcome.triggerSource})`,
  );
  if (recovered.length > 0)
    logger.info({ recovered }, 'queue entry recovered: the retried completion is recorded');
  if (!phaseDoc) {
    // No gate will decide this phase in this run: the completion is all there is to wait for.
    await markQueueSucceeded(
      deps.store,
      [outcome.requestId],
      deps.clock.now().toISOString(),
      `completed (${outcome.triggerSource}); no phase of run ${outcome.runId} waits for it`,
    );
    logger.info(
      {},
      'completion for a request no run is waiting for (published by hand?): recorded, nothing to trigger',
    );
    return;
  }
  if (
    phaseDoc.status !== 'gate_passed' &&
    (await parkForGate(deps, outcome.requestId, `completed (${outcome.triggerSource})`))
  ) {
    logger.info({}, 'retried request completed: its entry waits for the gate of its phase');
  }
  if (run?.failures[outcome.processor]) {
    // A retried processor succeeded: its failure no longer counts against the run.
    await deps.store.transaction(async (tx) => {
      const current = (await tx.get(COLLECTIONS.runs, outcome.runId)) as RunDoc | undefined;
      if (!current?.failures[outcome.processor]) return;
      tx.set(COLLECTIONS.runs, outcome.runId, {
        ...updateRun(
          current,
          deps.clock.now().toISOString(),
          `${outcome.processor} recovered`,
          (d) => void delete d.failures[outcome.processor],
        ),
      });
    });
  }
  if (phaseDoc.status === 'gate_passed') {
    // Already decided: its entries are recovered (a crash may have stopped that), and what was
    // decided must leave (likewise).
    const closed = await closePhaseEntries(
      deps,
      outcome.runId,
      outcome.phase,
      `phase ${outcome.phase} passed its gate in run ${outcome.runId}`,
    );
    if (closed.length > 0) logger.info({ closed }, 'queue entries recovered: their phase passed its gate');
    const next = deps.definition.nextPhase(outcome.phase);
    if (next)
      await flushOutbox(
        deps.store,
        deps.publisher,
        phaseDecisionId(outcome.runId, next.id),
        () => deps.clock.now(),
        messageIdOf(event),
      );
    return;
  }
  const done = await deps.store.query(COLLECTIONS.runCompletions, {
    filters: [
      { field: 'runId', op: '==', value: outcome.runId },
      { field: 'phase', op: '==', value: outcome.phase },
    ],
  });
  const completed = new Set(done.map((d) => d.data.processor));
  const waitingFor = phaseDoc.expected.filter((p) => !completed.has(p));
  if (waitingFor.length > 0) {
    logger.info(
      { done: phaseDoc.expected.length - waitingFor.length, expected: phaseDoc.expected.length, waitingFor },
      'completion recorded',
    );
    return;
  }
  // A phase whose gate failed is decided again by the retried processor's completion, without a claim.
  if (phaseDoc.status !== 'gate_failed' && !(await claimDecision(deps, decisionId, outcome.requestId))) {
    logger.info({ phase: outcome.phase }, 'phase being decided by another delivery');
    return;
  }
  const gate = await runGate({
    store: deps.store,
    phase: deps.definition.phase(outcome.phase),
    processors: phaseDoc.expected,
    runId: outcome.runId,
    partition: outcome.partition,
    expectations: deps.expectations,
  });
  const { next: nextDecision, exhausted, superseded } = await decide(deps, outcome, phaseDoc, gate);
  if (superseded) return ackSupersededCompletion(deps, outcome, superseded, logger);
  if (!gate.passed) {
    logger.error(
      { shortfalls: gate.shortfalls },
      `gate of phase ${outcome.phase} failed: ${describeShortfalls(gate.shortfalls)}`,
    );
    await deps.notifier?.({
      kind: 'gate_failed',
      dedupKey: `gate_failed:${outcome.phase}:${gate.shortfalls.map((s) => s.collection).join(',')}`,
      runId: outcome.runId,
      phase: outcome.phase,
      processor: null,
      message: `run ${outcome.runId}: ${describeShortfalls(gate.shortfalls)}`,
    });
    for (const entry of exhausted) {
      await deps.notifier?.({
        kind: 'failed_permanent',
        dedupKey: `failed_permanent:${entry.phase}:${entry.processor ?? '-'}:gate_failed`,
        runId: entry.runId,
        phase: entry.phase,
        processor: entry.processor,
        message: `${entry.requestId}: ${entry.lastError}`,
      });
    }
    return;
  }
  const closed = await closePhaseEntries(
    deps,
    outcome.runId,
    outcome.phase,
    `phase ${outcome.phase} passed its gate in run ${outcome.runId}`,
  );
  if (closed.length > 0) logger.info({ closed }, 'queue entries recovered: their phase passed its gate');
  if (!nextDecision) {
    logger.info(
      { phase: outcome.phase },
      deps.definition.nextPhase(outcome.phase)
        ? 'phase already decided by another delivery'
        : 'last phase passed its gate: run complete',
    );
    return;
  }
  deps.faults?.crashPoint('after-trigger-decision');
  const sent = await flushOutbox(
    deps.store,
    deps.publisher,
    nextDecision,
    () => deps.clock.now(),
    messageIdOf(event),
  );
  logger.info({ nextDecision, sent }, 'gate passed: next phase triggered');
}
