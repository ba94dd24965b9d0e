import { classify, type Classification } from '../errors/classify.ts';
import { describeError, type ErrorDescription } from '../errors/describe.ts';
import { PROCESSOR_COMPLETED_TOPIC, type ProcessorRequest } from '../messages/messages.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { Publisher } from '../ports/publisher.ts';
import type { DocumentStore } from '../ports/store.ts';
import { requestEventFields } from '../events/attempt-events.ts';
import { appendEvent } from '../events/write-event.ts';
import { failureNotice } from './failure-notice.ts';
import { recordFailure, type OriginalMessage } from './failure-queue.ts';
import { messageIdOf, type PubSubCloudEvent } from './pubsub-event.ts';

/** What a handler keeps of a message it received: enough to replay it from its queue entry. */
export function originalOf(event: PubSubCloudEvent): OriginalMessage {
  return {
    messageId: messageIdOf(event),
    data: event.data?.message?.data ?? null,
    attributes: event.data?.message?.attributes ?? {},
    subscription: event.data?.subscription ?? null,
  };
}

/**
 * A message no retry can make right (it does not parse, or names what cannot exist): its
 * `message_rejected` event and a failed_permanent queue entry (NEEDS MANUAL FIX), both durable
 * before the handler acks. The entry is the request's when the message parsed, else `msg-<messageId>`.
 */
export async function recordRejection(
  store: DocumentStore,
  input: {
    event: PubSubCloudEvent;
    error: unknown;
    /** The phase id, or `orchestrator`. */
    phase: string;
    request: ProcessorRequest | null;
    /** The partition it was for when no request says so (a run request refused). */
    partition?: string | null;
    now: Date;
  },
): Promise<{
  entryId: string;
  eventId: string;
  classification: Classification;
  described: ErrorDescription;
}> {
  const original = originalOf(input.event);
  const entryId = input.request?.requestId ?? `msg-${original.messageId}`;
  const classification = classify(input.error);
  const described = describeError(input.error);
  const eventId = `${entryId}--message_rejected`;
  await appendEvent(store, {
    eventId,
    type: 'message_rejected',
    at: input.now.toISOString(),
    ...(input.request
      ? requestEventFields(input.request, 0)
      : {
          runId: null,
          requestId: null,
          partition: input.partition ?? null,
          processor: null,
          attempt: null,
          triggerSource: null,
          traceparent: null,
          parentEventId: null,
        }),
    phase: input.phase,
    errorType: 'permanent',
    errorReason: classification.reason,
    errorName: described.name,
    message: described.message,
    stack: described.stack,
  });
  await recordFailure(
    store,
    {
      entryId,
      status: 'failed_permanent',
      classification: { ...classification, kind: 'permanent' },
      error: described,
      request: input.request,
      phase: input.phase,
      original,
      failureEventId: eventId,
      nextRetryAt: null,
      deadlineAt: null,
      partition: input.partition ?? null,
    },
    input.now,
  );
  return { entryId, eventId, classification, described };
}

/**
 * A phase's message no retry can make right, recorded by {@link recordRejection}; when it parsed
 * as a request, its run is sent the failed_permanent notice. Then acked on purpose (see
 * ack-contract.ts).
 */
export async function rejectPhaseMessage(
  deps: { store: DocumentStore; publisher: Publisher; clock: Clock; logger: Logger },
  rejected: { error: unknown; event: PubSubCloudEvent; phase: string; request: ProcessorRequest | null },
): Promise<void> {
  const { error, event, phase, request } = rejected;
  const now = deps.clock.now();
  const { eventId, described } = await recordRejection(deps.store, { event, error, phase, request, now });
  if (request) {
    const notice = failureNotice(request, {
      outcome: 'failed_permanent',
      parentEventId: eventId,
      errorType: 'permanent',
      message: described.message,
      failedAt: now.toISOString(),
    });
    await deps.publisher.publish(PROCESSOR_COMPLETED_TOPIC, notice, { requestId: request.requestId });
  }
  deps.logger.error(
    {
      phase,
      messageId: messageIdOf(event),
      requestId: request?.requestId,
      err: described.message,
    },
    'message rejected: recorded as failed_permanent, acking',
  );
}
