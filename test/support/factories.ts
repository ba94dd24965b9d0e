import { randomUUID } from 'node:crypto';
import { makeRequestId, type ProcessorRequest } from '../../shared/messages/messages.ts';
import { newTraceparent } from '../../shared/messages/fields.ts';
import type { PubSubCloudEvent } from '../../shared/runtime/pubsub-event.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';

export function makeProcessorRequest(
  overrides: Partial<ProcessorRequest> & Pick<ProcessorRequest, 'phase' | 'processor'>,
): ProcessorRequest {
  const runId = overrides.runId ?? `run-${randomUUID().slice(0, 8)}`;
  return {
    runId,
    requestId: makeRequestId({ runId, phase: overrides.phase, processor: overrides.processor }),
    partition: '2024-04-21',
    triggerSource: 'manual',
    parentEventId: null,
    traceparent: newTraceparent(),
    ...overrides,
  };
}

/** A push delivery as functions-framework hands it to a cloudEvent handler. */
export function pubsubEvent(
  payload: unknown,
  options: { raw?: string; messageId?: string; attributes?: Record<string, string> } = {},
): PubSubCloudEvent {
  const data = options.raw ?? Buffer.from(JSON.stringify(payload)).toString('base64');
  const messageId = options.messageId ?? randomUUID();
  return {
    id: messageId,
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: '//pubsub.googleapis.com/projects/p/topics/t',
    data: {
      message: { data, messageId, attributes: options.attributes ?? {} },
      subscription: 'projects/p/subscriptions/s',
    },
  };
}

/** A clock the test moves by hand. */
export { manualClock } from '../../shared/testing/manual-clock.ts';

/**
 * A whole `failed_processor_queue` document (the kit parses every entry it reads): what a test
 * does not say is a plain open entry of phase alpha.
 */
export function makeQueueEntry(
  fields: Record<string, unknown> & { requestId: string },
): Record<string, unknown> {
  return {
    status: 'pending',
    errorType: 'permanent',
    errorReason: 'test',
    errorName: 'Error',
    lastError: 'a test failure',
    needsManualFix: false,
    runId: null,
    partition: null,
    phase: 'alpha',
    processor: null,
    request: null,
    failureEventId: null,
    firstFailedAt: '2026-01-01T00:00:00.000Z',
    retryCount: 0,
    nextRetryAt: null,
    deadlineAt: null,
    ...fields,
  };
}

/** A whole `processor_failed` event of one attempt of `request` (the kit parses the events it reads). */
export function makeFailedEvent(
  request: ProcessorRequest,
  fields: Record<string, unknown> & { eventId: string; at: string },
): Record<string, unknown> {
  return {
    type: 'processor_failed',
    runId: request.runId,
    requestId: request.requestId,
    partition: request.partition,
    phase: request.phase,
    processor: request.processor,
    attempt: 1,
    triggerSource: request.triggerSource,
    traceparent: request.traceparent,
    parentEventId: request.parentEventId,
    durationMs: 10,
    errorType: 'transient',
    errorReason: 'test',
    errorName: 'Error',
    message: 'a test failure',
    stack: null,
    ...fields,
  };
}

/** A failed_permanent entry of alpha/widgets in `store` (NEEDS MANUAL FIX): what a person acts on. */
export async function seedFailedEntry(store: {
  set(collection: string, id: string, data: Record<string, unknown>): Promise<void>;
}): Promise<ProcessorRequest> {
  const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
  await store.set(
    COLLECTIONS.queue,
    request.requestId,
    makeQueueEntry({
      requestId: request.requestId,
      status: 'failed_permanent',
      request,
      retryCount: 0,
      phase: 'alpha',
      processor: 'widgets',
      failureEventId: 'f',
      firstFailedAt: '2026-01-01T00:00:00Z',
    }),
  );
  return request;
}
