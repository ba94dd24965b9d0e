import type { Classification } from '../errors/classify.ts';
import type { ErrorDescription } from '../errors/describe.ts';
import type { ProcessorRequest } from '../messages/messages.ts';
import type { DocWrite } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import type { EventOf, EventType, PipelineEvent } from './pipeline-event.ts';

/** Event ids derive from request and attempt: a redelivered duplicate overwrites its own event. */
export function attemptEventId(
  requestId: string,
  attempt: number,
  type: Extract<EventType, `processor_${string}`>,
): string {
  return `${requestId}--a${attempt}--${type}`;
}

type RequestFields = Omit<EventOf<'processor_started'>, 'eventId' | 'type' | 'at'>;

/** The fields of an event about one attempt of one processor request. */
export function requestEventFields(request: ProcessorRequest, attempt: number): RequestFields {
  return {
    runId: request.runId,
    requestId: request.requestId,
    partition: request.partition,
    phase: request.phase,
    processor: request.processor,
    attempt,
    triggerSource: request.triggerSource,
    traceparent: request.traceparent,
    parentEventId: request.parentEventId,
  };
}

/** What went wrong, for the events of a failure. */
export function errorEventFields(classification: Classification, error: ErrorDescription) {
  return {
    errorType: classification.kind,
    errorReason: classification.reason,
    errorName: error.name,
    message: error.message,
    stack: error.stack,
  };
}

/** The event as one write of a batch. */
export function eventWrite(event: PipelineEvent): DocWrite {
  return { collection: COLLECTIONS.events, id: event.eventId, data: { ...event } };
}
