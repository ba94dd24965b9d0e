import { z } from 'zod';
import { appendEvent } from '../events/write-event.ts';
import type { DocumentStore } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import type { RunStart } from './decide-run-start.ts';
import { isPaused } from './pause-state.ts';

/** `held_run_requests/{id}`: the request as it arrived (its JSON, its attributes). */
export const HeldSchema = z.looseObject({
  data: z.string(),
  attributes: z.record(z.string(), z.string()),
  heldAt: z.string(),
  partition: z.string().nullable(),
});

/** Attributes of a released run request: the message id and publish time of the request as it was held. */
export const HELD_MESSAGE_ID = 'phasegateHeldMessageId';
export const HELD_PUBLISH_TIME = 'phasegateHeldPublishTime';

/** The fields of an event about the pipeline as a whole (an operator's pause, what it holds): no run, no request. */
export const operatorEventFields = (eventId: string, at: string, partition: string | null = null) => ({
  eventId,
  at,
  runId: null,
  requestId: null,
  partition,
  phase: 'orchestrator',
  processor: null,
  attempt: null,
  triggerSource: null,
  traceparent: null,
  parentEventId: null,
});

/** Holds a run request that arrived while paused (create-only: a redelivery holds it once). */
export async function holdRunRequest(
  store: DocumentStore,
  request: { messageId: string; json: unknown; attributes: Record<string, string>; partition: string },
  now: Date,
): Promise<void> {
  const heldId = `run-request-${request.messageId}`;
  const at = now.toISOString();
  await store.create(COLLECTIONS.held, heldId, {
    data: JSON.stringify(request.json),
    attributes: request.attributes,
    heldAt: at,
    partition: request.partition,
  });
  await appendEvent(store, {
    ...operatorEventFields(`${heldId}--held`, at, request.partition),
    type: 'run_request_held',
    heldId,
    message: `run request for ${request.partition} held: the pipeline is paused`,
  });
}

/**
 * While paused, a run request that would start a run is held, not started: true when it was (the
 * caller acks). A redelivery of a request whose run started before the pause is not held (its run
 * exists; the outbox holds its triggers instead). The request is kept with its partition resolved
 * as of its arrival, so a relative request ("the day before") still means the same partition later.
 */
export async function holdIfPaused(
  store: DocumentStore,
  start: RunStart,
  message: { attributes?: Record<string, string>; publishTime?: string } | undefined,
): Promise<boolean> {
  if (!(await isPaused(store))) return false;
  if (await store.get(COLLECTIONS.runs, start.runId)) return false;
  // The released copy is a new message: it carries the identity of the one held, so its run id is the
  // same (a release published twice, or a re-hold, starts one run), and tools waiting for the run of
  // the message they published (`trigger --wait`, a backfill) find it.
  const attributes = {
    ...message?.attributes,
    [HELD_MESSAGE_ID]: start.messageId,
    ...(message?.publishTime ? { [HELD_PUBLISH_TIME]: message.publishTime } : {}),
  };
  const { relative: _relative, timeZone: _timeZone, ...request } = start.request;
  await holdRunRequest(
    store,
    {
      messageId: start.messageId,
      json: { ...request, partition: start.partition },
      attributes,
      partition: start.partition,
    },
    new Date(start.now),
  );
  return true;
}
