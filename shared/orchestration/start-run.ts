import { createHash } from 'node:crypto';
import { PermanentError } from '../errors/errors.ts';
import { parseMessage, decodeBase64Json } from '../messages/decode.ts';
import { childTraceparent, newTraceparent } from '../messages/fields.ts';
import {
  makeRequestId,
  phaseTopic,
  RunRequestSchema,
  type ProcessorRequest,
  type RunRequest,
} from '../messages/messages.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { messageIdOf, type PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import { addToOutbox, flushOutbox } from './outbox.ts';
import { newRunDoc, phaseDecisionId, updateRun, type RunDoc, type RunPhaseDoc } from './run-doc.ts';
import { recordSuperseded } from './generation.ts';
import { sweepSuperseded } from '../recovery/supersede.ts';
import type { OrchestratorDeps } from './orchestrator.ts';
import { rejectOrchestratorMessage } from './reject.ts';
import { markQueueSucceeded } from '../recovery/mark-succeeded.ts';
import {
  firstPublishedAt,
  resolveRunRequest,
  runRequestEntryId,
  runRequestKey,
  type ResolvedRunRequest,
} from '../messages/run-request-key.ts';

/**
 * Run ids derive from the Pub/Sub message (id and publish time): a redelivered RunRequest
 * finds its run and never makes a second, while two publishes never share a run, even on an
 * emulator whose message ids restart at 1.
 */
export function runIdFor(partition: string, messageId: string, publishTime: string | undefined): string {
  return `${partition}_${createHash('sha256')
    .update(`${messageId}|${publishTime ?? ''}`)
    .digest('hex')
    .slice(0, 12)}`;
}

type StartOutcome =
  | { state: 'started' | 'exists'; runId: string; decisionId: string; superseded?: string }
  | { state: 'conflict'; runId: string; holder: string }
  | { state: 'superseded'; runId: string; current: string }
  | { state: 'refused'; runId: string; reason: string };

function resolveStart(
  deps: OrchestratorDeps,
  request: RunRequest,
): { startPhase: string; processors: string[] } {
  const first = deps.definition.phases[0]!;
  const startPhase = request.startPhase ?? first.id;
  const phase = deps.definition.phases.find((p) => p.id === startPhase);
  if (!phase)
    throw new PermanentError(
      `unknown startPhase "${startPhase}"; phases are ${deps.definition.phases.map((p) => p.id).join(', ')}`,
    );
  const known = phase.processors.map((p) => p.name);
  const unknown = (request.processors ?? []).filter((p) => !known.includes(p));
  if (unknown.length > 0)
    throw new PermanentError(
      `unknown processor(s) ${unknown.join(', ')} for phase "${startPhase}"; known processors: ${known.join(', ')}`,
    );
  return { startPhase, processors: request.processors ?? known };
}

/** `run-requests`: creates the run and fans out one ProcessorRequest per processor of its first phase. */
export async function handleRunRequest(deps: OrchestratorDeps, event: PubSubCloudEvent): Promise<void> {
  let request: RunRequest;
  let start: { startPhase: string; processors: string[] };
  let partition: string;
  let resolved: ResolvedRunRequest;
  try {
    request = parseMessage(
      RunRequestSchema,
      decodeBase64Json(event.data?.message?.data, 'RunRequest'),
      'RunRequest',
    );
    start = resolveStart(deps, request);
    // "The partition before" is the one before its publish: a redelivery after midnight means the same one.
    const message = event.data?.message;
    resolved = resolveRunRequest(
      deps.definition.scheme,
      request,
      firstPublishedAt(message?.publishTime, message?.attributes ?? {}, deps.clock.now()),
    );
    partition = resolved.partition;
  } catch (error) {
    return rejectOrchestratorMessage(deps, event, error);
  }
  const now = deps.clock.now().toISOString();
  const runId = runIdFor(partition, messageIdOf(event), event.data?.message?.publishTime);
  const decisionId = phaseDecisionId(runId, start.startPhase);
  const traceparent = request.traceparent ? childTraceparent(request.traceparent) : newTraceparent();
  const outcome = await deps.store.transaction(async (tx): Promise<StartOutcome> => {
    const existing = (await tx.get(COLLECTIONS.runs, runId)) as RunDoc | undefined;
    if (existing)
      return existing.supersededBy
        ? { state: 'superseded', runId, current: existing.supersededBy }
        : { state: 'exists', runId, decisionId };
    const lock = await tx.get(COLLECTIONS.runLocks, partition);
    const holder =
      typeof lock?.runId === 'string'
        ? ((await tx.get(COLLECTIONS.runs, lock.runId)) as RunDoc | undefined)
        : undefined;
    if (holder?.status === 'RUNNING' && !request.force)
      return { state: 'conflict', runId, holder: holder.runId };
    // A run from a later phase reads what the phases before it wrote: they must have passed their
    // gates in the partition's current run (or that run started later itself, having been held to this).
    const before = deps.definition.phases
      .slice(
        0,
        deps.definition.phases.findIndex((p) => p.id === start.startPhase),
      )
      .map((p) => p.id);
    const unpassed = before.filter(
      (p) => !holder || (holder.phases[p] !== undefined && holder.phases[p].status !== 'SUCCEEDED'),
    );
    // A run of some processors of a phase leaves the others' outputs to the current run: they must be there.
    const others = deps.definition
      .phase(start.startPhase)
      .processors.map((p) => p.name)
      .filter((p) => !start.processors.includes(p));
    if (others.length > 0 && unpassed.length === 0) {
      const state = holder?.phases[start.startPhase];
      const decided =
        holder && state
          ? ((await tx.get(COLLECTIONS.runPhases, phaseDecisionId(holder.runId, start.startPhase))) as
              RunPhaseDoc | undefined)
          : undefined;
      const short = new Set(
        ((decided?.gate?.shortfalls as { processors?: string[] }[] | undefined) ?? []).flatMap(
          (f) => f.processors ?? [],
        ),
      );
      const missing = !holder
        ? others
        : !state
          ? []
          : state.status === 'SUCCEEDED'
            ? []
            : state.status === 'GATE_FAILED'
              ? others.filter((p) => short.has(p))
              : others;
      if (missing.length > 0) {
        return {
          state: 'refused',
          runId,
          reason: holder
            ? `${missing.join(', ')} of phase ${start.startPhase} did not pass its gate in the current run ` +
              `${holder.runId} (${holder.status}): include ${missing.length > 1 ? 'them' : 'it'} in processors, or run the phase whole`
            : `${partition} has never run: running only ${start.processors.join(', ')} of ${start.startPhase} would ` +
              `leave ${others.join(', ')} without data; run the partition whole first`,
        };
      }
    }
    if (unpassed.length > 0) {
      return {
        state: 'refused',
        runId,
        reason: holder
          ? `phase(s) ${unpassed.join(', ')} of ${partition} did not pass their gate in its current run ${holder.runId} ` +
            `(${holder.status}): run the partition from ${unpassed[0]} first`
          : `${partition} has never run: a run from phase ${start.startPhase} would read phases ${before.join(', ')} ` +
            `that never ran; run the partition whole first`,
      };
    }
    if (holder && !holder.supersededBy) {
      // The new run is the partition's current run from this commit on: the old one's work is acked as
      // superseded wherever it arrives (generation.ts), and the old run says so.
      tx.set(COLLECTIONS.runs, holder.runId, {
        ...updateRun(
          holder,
          now,
          `superseded by run ${runId} (${request.triggerSource}${request.force ? ', forced' : ''})`,
          (d) => void (d.supersededBy = runId),
        ),
      });
      const supersededEvent = `${holder.runId}--run_superseded`;
      tx.set(COLLECTIONS.events, supersededEvent, {
        eventId: supersededEvent,
        type: 'run_superseded',
        at: now,
        runId: holder.runId,
        requestId: null,
        partition,
        phase: start.startPhase,
        processor: null,
        attempt: null,
        triggerSource: request.triggerSource,
        traceparent,
        parentEventId: null,
        currentRunId: runId,
        message: `run ${holder.runId} (${holder.status}) superseded by run ${runId}`,
      });
    }
    const run = newRunDoc({
      definition: deps.definition,
      requestMessageId: messageIdOf(event),
      runId,
      partition: partition,
      triggerSource: request.triggerSource,
      requestedBy: request.requestedBy ?? null,
      traceparent,
      startPhase: start.startPhase,
      processors: start.processors,
      now,
    });
    tx.set(COLLECTIONS.runs, runId, { ...run });
    tx.set(COLLECTIONS.runLocks, partition, { runId, partition: partition, at: now });
    const phaseDoc: RunPhaseDoc = {
      runId,
      phase: start.startPhase,
      partition: partition,
      expected: start.processors,
      status: 'running',
      startedAt: now,
      decidedAt: null,
      gate: null,
    };
    tx.set(COLLECTIONS.runPhases, decisionId, { ...phaseDoc });
    const eventId = `${runId}--run_started`;
    tx.set(COLLECTIONS.events, eventId, {
      eventId,
      type: 'run_started',
      at: now,
      runId,
      requestId: null,
      partition: partition,
      phase: start.startPhase,
      processor: null,
      attempt: null,
      triggerSource: request.triggerSource,
      traceparent,
      parentEventId: null,
      processors: start.processors,
      force: request.force ?? false,
    });
    for (const processor of start.processors) {
      const message: ProcessorRequest = {
        runId,
        requestId: makeRequestId({ runId, phase: start.startPhase, processor }),
        partition: partition,
        phase: start.startPhase,
        processor,
        triggerSource: request.triggerSource,
        parentEventId: eventId,
        traceparent: childTraceparent(traceparent),
      };
      addToOutbox(tx, {
        id: `${decisionId}--${processor}`,
        decisionId,
        runId,
        topic: phaseTopic(start.startPhase),
        message: { ...message },
        attributes: { requestId: message.requestId },
        status: 'pending',
        createdAt: now,
        sentAt: null,
      });
    }
    return {
      state: 'started',
      runId,
      decisionId,
      superseded: holder && !holder.supersededBy ? holder.runId : undefined,
    };
  });
  const logger = deps.logger.child({ runId, partition: partition });
  if (outcome.state === 'refused')
    return rejectOrchestratorMessage(
      deps,
      event,
      new PermanentError(
        `run request for ${partition} from phase ${start.startPhase} refused: ${outcome.reason}`,
      ),
      partition,
    );
  if (outcome.state === 'conflict') {
    const eventId = `${runId}--run_rejected`;
    await deps.store.set(COLLECTIONS.events, eventId, {
      eventId,
      type: 'run_rejected',
      at: now,
      runId: outcome.holder,
      requestId: null,
      partition: partition,
      phase: start.startPhase,
      processor: null,
      attempt: null,
      triggerSource: request.triggerSource,
      traceparent,
      parentEventId: null,
      message: `a run for ${partition} is already RUNNING (${outcome.holder}); publish with "force": true to start another`,
    });
    logger.warn(
      { runningRunId: outcome.holder },
      `run request for ${partition} refused: run ${outcome.holder} is still RUNNING (set force to start anyway)`,
    );
    return;
  }
  if (outcome.state === 'superseded') {
    // A redelivery of an old run's request: a newer run holds the partition, nothing of the old one is re-sent.
    await recordSuperseded(deps.store, {
      what: 'run request',
      runId,
      currentRunId: outcome.current,
      partition,
      phase: start.startPhase,
      requestId: null,
      processor: null,
      traceparent,
      at: now,
    });
    logger.info(
      { currentRunId: outcome.current },
      `run request redelivered for superseded run ${runId}: acked, run ${outcome.current} is current`,
    );
    return;
  }
  if (outcome.state === 'started') {
    // A run request the recorder queued (its earlier copy dead-lettered) is recovered now.
    await markQueueSucceeded(
      deps.store,
      [runRequestEntryId(runRequestKey(resolved))],
      now,
      `run ${runId} started`,
    );
    // The run it superseded has open entries: each closes (this run decides) or is re-targeted. A
    // crash before this is caught up by the reconciler's sweep.
    if (outcome.superseded) await sweepSuperseded(deps.store, now, outcome.superseded);
  }
  deps.faults?.crashPoint('after-run-decision');
  const sent = await flushOutbox(
    deps.store,
    deps.publisher,
    outcome.decisionId,
    () => deps.clock.now(),
    messageIdOf(event),
  );
  logger.info(
    { phase: start.startPhase, processors: start.processors, sent, redelivered: outcome.state === 'exists' },
    outcome.state === 'exists' ? 'run request redelivered: pending triggers re-sent' : 'run started',
  );
}

export type { RunDoc };
