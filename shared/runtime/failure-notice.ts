import { childTraceparent } from '../messages/fields.ts';
import type { ProcessorFailed, ProcessorRequest } from '../messages/messages.ts';

/**
 * The ProcessorFailed notice of a request whose failure is recorded durably (a rejected message,
 * a permanent failure, a wait for the source), so the run shows the failure at once.
 */
export function failureNotice(
  request: ProcessorRequest,
  failure: Pick<ProcessorFailed, 'outcome' | 'parentEventId' | 'errorType' | 'message' | 'failedAt'>,
): ProcessorFailed {
  return {
    outcome: failure.outcome,
    runId: request.runId,
    requestId: request.requestId,
    partition: request.partition,
    phase: request.phase,
    processor: request.processor,
    triggerSource: request.triggerSource,
    parentEventId: failure.parentEventId,
    traceparent: childTraceparent(request.traceparent),
    errorType: failure.errorType,
    message: failure.message,
    failedAt: failure.failedAt,
  };
}
