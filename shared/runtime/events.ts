import type { Classification } from '../errors/classify.ts';
import type { ErrorDescription } from '../errors/describe.ts';
import type { ProcessorRequest } from '../messages/messages.ts';
import type { DocWrite, DocumentStore } from '../ports/store.ts';
import { COLLECTIONS } from './collections.ts';

export const EVENT_TYPES = [
  'processor_started',
  'processor_completed',
  'processor_failed',
  'message_rejected',
  'duplicate_delivery',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface PipelineEvent {
  eventId: string;
  type: EventType;
  /** ISO-8601 instant. */
  at: string;
  runId: string | null;
  requestId: string | null;
  partition: string | null;
  phase: string;
  processor: string | null;
  attempt: number | null;
  triggerSource: string | null;
  traceparent: string | null;
  parentEventId: string | null;
  durationMs?: number;
  records?: Record<string, number>;
  metrics?: Record<string, number>;
  errorType?: Classification['kind'];
  errorReason?: string;
  errorName?: string;
  /** Capped at 1,000 characters. */
  message?: string;
  stack?: string | null;
}

/** Event ids derive from request and attempt: a redelivered duplicate overwrites its own event. */
export function attemptEventId(requestId: string, attempt: number, type: EventType): string {
  return `${requestId}--a${attempt}--${type}`;
}

export function requestEventFields(
  request: ProcessorRequest,
  attempt: number,
): Omit<PipelineEvent, 'eventId' | 'type' | 'at'> {
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

export function errorEventFields(
  classification: Classification,
  error: ErrorDescription,
): Pick<PipelineEvent, 'errorType' | 'errorReason' | 'errorName' | 'message' | 'stack'> {
  return {
    errorType: classification.kind,
    errorReason: classification.reason,
    errorName: error.name,
    message: error.message,
    stack: error.stack,
  };
}

export function eventWrite(event: PipelineEvent): DocWrite {
  return { collection: COLLECTIONS.events, id: event.eventId, data: { ...event } };
}

export async function appendEvent(store: DocumentStore, event: PipelineEvent): Promise<void> {
  await store.set(COLLECTIONS.events, event.eventId, { ...event });
}
