import { classify } from '../errors/classify.ts';
import { describeError } from '../errors/describe.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { recordFailure } from '../runtime/failure-queue.ts';
import { messageIdOf, type PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import type { OrchestratorDeps } from './orchestrator.ts';

/** A message the orchestrator cannot act on: recorded as failed_permanent (NEEDS MANUAL FIX), then acked. */
export async function rejectOrchestratorMessage(
  deps: OrchestratorDeps,
  event: PubSubCloudEvent,
  error: unknown,
  partition: string | null = null,
): Promise<void> {
  const messageId = messageIdOf(event);
  const described = describeError(error);
  const classification = classify(error);
  const now = deps.clock.now();
  const entryId = `msg-${messageId}`;
  const eventId = `${entryId}--message_rejected`;
  await deps.store.set(COLLECTIONS.events, eventId, {
    eventId,
    type: 'message_rejected',
    at: now.toISOString(),
    runId: null,
    requestId: null,
    partition,
    phase: 'orchestrator',
    processor: null,
    attempt: null,
    triggerSource: null,
    traceparent: null,
    parentEventId: null,
    errorType: 'permanent',
    errorReason: classification.reason,
    errorName: described.name,
    message: described.message,
    stack: described.stack,
  });
  await recordFailure(
    deps.store,
    {
      entryId,
      status: 'failed_permanent',
      classification: { ...classification, kind: 'permanent' },
      error: described,
      request: null,
      phase: 'orchestrator',
      original: {
        messageId,
        data: event.data?.message?.data ?? null,
        attributes: event.data?.message?.attributes ?? {},
        subscription: event.data?.subscription ?? null,
      },
      failureEventId: eventId,
      nextRetryAt: null,
      deadlineAt: null,
      partition,
    },
    now,
  );
  deps.logger.error(
    { messageId, err: described.message },
    'orchestrator message rejected: recorded as failed_permanent, acking',
  );
}
