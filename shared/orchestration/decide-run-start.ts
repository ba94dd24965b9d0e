import { runEventFields, writeEvent } from '../events/write-event.ts';
import type { RunRequest } from '../messages/messages.ts';
import type { Transaction } from '../ports/store.ts';
import { sweepSuperseded } from '../recovery/supersede.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import type { ResolvedRunRequest } from '../messages/run-request-key.ts';
import { openPhase, type OpenedPhase } from './open-phase.ts';
import type { OrchestratorDeps } from './orchestrator.ts';
import { newRunDoc, parseRun, phaseDecisionId, updateRun, type RunDoc, readRun } from './run-doc.ts';
import { runStartRefusal } from './run-start-refusal.ts';

/** A run request, parsed and resolved: what its run will be. */
export interface RunStart {
  request: RunRequest;
  resolved: ResolvedRunRequest;
  partition: string;
  startPhase: string;
  processors: string[];
  runId: string;
  /** The Pub/Sub message id of the request. */
  messageId: string;
  traceparent: string;
  now: string;
}

export type StartOutcome =
  | { state: 'started'; decisionId: string; opened: OpenedPhase; superseded: string | undefined }
  | { state: 'exists'; decisionId: string }
  | { state: 'conflict'; holder: string }
  | { state: 'superseded'; current: string }
  | { state: 'refused'; reason: string };

/**
 * The one decision of a run request, in a transaction on the partition's lock: start the run (its
 * first phase's requests in the outbox), find it started already (a redelivery), or refuse it. A
 * started run then closes the entries of the run it superseded (a crash before that is caught up by
 * the reconciler's sweep); startRun closes the request's own queue entry while it sends.
 */
export async function decideRunStart(deps: OrchestratorDeps, start: RunStart): Promise<StartOutcome> {
  const outcome = await deps.store.transaction((tx) => decideInTransaction(deps, tx, start));
  if (outcome.state === 'started' && outcome.superseded)
    await sweepSuperseded(deps.store, start.now, outcome.superseded);
  return outcome;
}

async function decideInTransaction(
  deps: OrchestratorDeps,
  tx: Transaction,
  start: RunStart,
): Promise<StartOutcome> {
  const { runId, partition } = start;
  // The run and the partition's lock in one read (a transaction's second read waits for its first).
  const [runData, lock] = await tx.getAll([
    { collection: COLLECTIONS.runs, id: runId },
    { collection: COLLECTIONS.runLocks, id: partition },
  ]);
  const existing = parseRun(runId, runData);
  if (existing)
    return existing.supersededBy
      ? { state: 'superseded', current: existing.supersededBy }
      : { state: 'exists', decisionId: phaseDecisionId(runId, start.startPhase) };
  const holder = typeof lock?.runId === 'string' ? await readRun(tx, lock.runId) : undefined;
  if (holder?.status === 'RUNNING' && !start.request.force)
    return { state: 'conflict', holder: holder.runId };
  const refusal = await runStartRefusal(tx, deps.definition, start, holder);
  if (refusal !== null) return { state: 'refused', reason: refusal };
  const superseded = holder && !holder.supersededBy ? holder.runId : undefined;
  if (holder && superseded) supersedeHolder(tx, start, holder);
  const run = newRunDoc({
    definition: deps.definition,
    requestMessageId: start.messageId,
    runId,
    partition,
    triggerSource: start.request.triggerSource,
    requestedBy: start.request.requestedBy ?? null,
    traceparent: start.traceparent,
    startPhase: start.startPhase,
    processors: start.processors,
    now: start.now,
  });
  tx.set(COLLECTIONS.runs, runId, { ...run });
  tx.set(COLLECTIONS.runLocks, partition, { runId, partition, at: start.now });
  const eventId = writeEvent(tx, {
    eventId: `${runId}--run_started`,
    type: 'run_started',
    at: start.now,
    ...runEventFields({ ...start, phase: start.startPhase, triggerSource: start.request.triggerSource }),
    processors: start.processors,
    force: start.request.force ?? false,
  });
  const opened = openPhase(tx, {
    runId,
    partition,
    phase: start.startPhase,
    processors: start.processors,
    triggerSource: start.request.triggerSource,
    parentEventId: eventId,
    traceparent: start.traceparent,
    now: start.now,
    sender: start.messageId,
  });
  return { state: 'started', decisionId: opened.decisionId, opened, superseded };
}

/**
 * The new run is the partition's current run from this commit on: the old one's work is acked as
 * superseded wherever it arrives (generation.ts), and the old run says so.
 */
function supersedeHolder(tx: Transaction, start: RunStart, holder: RunDoc): void {
  const { runId, request } = start;
  const how = `${request.triggerSource}${request.force ? ', forced' : ''}`;
  tx.set(COLLECTIONS.runs, holder.runId, {
    ...updateRun(
      holder,
      start.now,
      `superseded by run ${runId} (${how})`,
      (d) => void (d.supersededBy = runId),
    ),
  });
  writeEvent(tx, {
    eventId: `${holder.runId}--run_superseded`,
    type: 'run_superseded',
    at: start.now,
    ...runEventFields({
      runId: holder.runId,
      partition: start.partition,
      phase: start.startPhase,
      triggerSource: request.triggerSource,
      traceparent: start.traceparent,
    }),
    currentRunId: runId,
    message: `run ${holder.runId} (${holder.status}) superseded by run ${runId}`,
  });
}
