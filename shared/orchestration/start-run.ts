import { createHash } from 'node:crypto';
import { PermanentError } from '../errors/errors.ts';
import { parseMessage, decodeBase64Json } from '../messages/decode.ts';
import { childTraceparent, newTraceparent } from '../messages/fields.ts';
import { RunRequestSchema, type RunRequest } from '../messages/messages.ts';
import {
  firstPublishedAt,
  resolveRunRequest,
  runRequestEntryId,
  runRequestKey,
} from '../messages/run-request-key.ts';
import { markQueueSucceeded } from '../recovery/mark-succeeded.ts';
import { appendEvent, runEventFields } from '../events/write-event.ts';
import { messageIdOf, type PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import type { LoadedDefinition } from '../definition/load.ts';
import type { RunStart, StartOutcome } from './decide-run-start.ts';
import { recordSuperseded } from './generation.ts';
import type { OrchestrationSteps, OrchestratorDeps } from './orchestrator.ts';
import { HELD_MESSAGE_ID, HELD_PUBLISH_TIME, holdIfPaused } from './held-run-requests.ts';
import { flushOutbox, sendOutboxEntries } from './outbox.ts';
import { rejectOrchestratorMessage } from './reject.ts';

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

/** `run-requests`: creates the run and fans out one ProcessorRequest per processor of its first phase. */
export async function startRun(
  deps: OrchestratorDeps,
  steps: OrchestrationSteps,
  event: PubSubCloudEvent,
): Promise<void> {
  let start: RunStart;
  try {
    start = parseRunStart(deps, event);
  } catch (error) {
    return rejectOrchestratorMessage(deps, event, error);
  }
  if (await holdIfPaused(deps.store, start, event.data?.message)) {
    deps.logger
      .child({ partition: start.partition })
      .info({ messageId: start.messageId }, 'run request held: the pipeline is paused (resume releases it)');
    return;
  }
  const outcome = await steps.decideRunStart(deps, start);
  if (outcome.state === 'started' || outcome.state === 'exists') {
    const now = () => deps.clock.now();
    const [sent] = await Promise.all([
      outcome.state === 'started'
        ? sendOutboxEntries(deps.store, deps.publisher, outcome.opened.entries, now)
        : flushOutbox(deps.store, deps.publisher, outcome.decisionId, now, start.messageId),
      // A run request the recorder queued (its earlier copy dead-lettered) is recovered now, or by the
      // redelivery that finds the run started (a crash may have come first).
      markQueueSucceeded(
        deps.store,
        [runRequestEntryId(runRequestKey(start.resolved))],
        start.now,
        `run ${start.runId} started`,
      ),
    ]);
    deps.logger.child({ runId: start.runId, partition: start.partition }).info(
      {
        phase: start.startPhase,
        processors: start.processors,
        sent,
        redelivered: outcome.state === 'exists',
      },
      outcome.state === 'exists' ? 'run request redelivered: pending triggers re-sent' : 'run started',
    );
    return;
  }
  return answerNotStarted(deps, event, start, outcome);
}

/** A request that started nothing: refused (queued for a person), held by a RUNNING run, or superseded. */
async function answerNotStarted(
  deps: OrchestratorDeps,
  event: PubSubCloudEvent,
  start: RunStart,
  outcome: Exclude<StartOutcome, { state: 'started' | 'exists' }>,
): Promise<void> {
  const { partition, runId } = start;
  const logger = deps.logger.child({ runId, partition });
  switch (outcome.state) {
    case 'refused':
      return rejectOrchestratorMessage(
        deps,
        event,
        new PermanentError(
          `run request for ${partition} from phase ${start.startPhase} refused: ${outcome.reason}`,
        ),
        partition,
      );
    case 'conflict': {
      await appendEvent(deps.store, {
        eventId: `${runId}--run_rejected`,
        type: 'run_rejected',
        at: start.now,
        ...runEventFields({
          ...start,
          runId: outcome.holder,
          phase: start.startPhase,
          triggerSource: start.request.triggerSource,
        }),
        message:
          `a run for ${partition} is already RUNNING (${outcome.holder}); ` +
          `publish with "force": true to start another`,
      });
      logger.warn(
        { runningRunId: outcome.holder },
        `run request for ${partition} refused: run ${outcome.holder} is still RUNNING (set force to start anyway)`,
      );
      return;
    }
    case 'superseded':
      // A redelivery of an old run's request: a newer run holds the partition, nothing of the old one is re-sent.
      await recordSuperseded(deps.store, {
        what: 'run request',
        runId,
        currentRunId: outcome.current,
        partition,
        phase: start.startPhase,
        requestId: null,
        processor: null,
        traceparent: start.traceparent,
        at: start.now,
      });
      logger.info(
        { currentRunId: outcome.current },
        `run request redelivered for superseded run ${runId}: acked, run ${outcome.current} is current`,
      );
  }
}

/** Decodes, checks and resolves a run request; throws (a permanent error) on one that cannot start. */
function parseRunStart(deps: OrchestratorDeps, event: PubSubCloudEvent): RunStart {
  const request = parseMessage(
    RunRequestSchema,
    decodeBase64Json(event.data?.message?.data, 'RunRequest'),
    'RunRequest',
  );
  const { startPhase, processors } = resolveStartPhase(deps.definition, request);
  // "The partition before" is the one before its publish: a redelivery after midnight means the same one.
  const message = event.data?.message;
  const resolved = resolveRunRequest(
    deps.definition.scheme,
    request,
    firstPublishedAt(message?.publishTime, message?.attributes ?? {}, deps.clock.now()),
  );
  // A run request a pause held and released keeps the identity of the message held (held-run-requests.ts).
  const held = message?.attributes ?? {};
  const messageId = held[HELD_MESSAGE_ID] ?? messageIdOf(event);
  const publishTime = held[HELD_MESSAGE_ID] ? held[HELD_PUBLISH_TIME] : message?.publishTime;
  return {
    request,
    resolved,
    partition: resolved.partition,
    startPhase,
    processors,
    runId: runIdFor(resolved.partition, messageId, publishTime),
    messageId,
    traceparent: request.traceparent ? childTraceparent(request.traceparent) : newTraceparent(),
    now: deps.clock.now().toISOString(),
  };
}

function resolveStartPhase(
  definition: LoadedDefinition,
  request: RunRequest,
): { startPhase: string; processors: string[] } {
  const startPhase = request.startPhase ?? definition.phases[0]!.id;
  const phase = definition.phases.find((p) => p.id === startPhase);
  if (!phase)
    throw new PermanentError(
      `unknown startPhase "${startPhase}"; phases are ${definition.phases.map((p) => p.id).join(', ')}`,
    );
  const known = phase.processors.map((p) => p.name);
  const unknown = (request.processors ?? []).filter((p) => !known.includes(p));
  if (unknown.length > 0)
    throw new PermanentError(
      `unknown processor(s) ${unknown.join(', ')} for phase "${startPhase}"; known processors: ${known.join(', ')}`,
    );
  return { startPhase, processors: request.processors ?? known };
}
