import { actionFor, classify } from '../errors/classify.ts';
import { describeError } from '../errors/describe.ts';
import { PROCESSOR_COMPLETED_TOPIC, type ProcessorRequest } from '../messages/messages.ts';
import type { Publisher } from '../ports/publisher.ts';
import type { Notifier } from '../recovery/notifier.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { DocumentStore } from '../ports/store.ts';
import { assertNever } from '../lib/assert-never.ts';
import { TransientError } from '../errors/errors.ts';
import { attemptEventId, errorEventFields, requestEventFields } from '../events/attempt-events.ts';
import { appendEvent } from '../events/write-event.ts';
import { failureNotice } from './failure-notice.ts';
import { recordFailure, type OriginalMessage } from './failure-queue.ts';
import { isCurrentAttempt, markRunFailed } from './processor-runs.ts';

/** A failure of an attempt a newer one replaced: 5xx, so the message's redelivery settles it by the newer attempt's outcome. */
export class SupersededAttemptError extends TransientError {
  constructor(requestId: string, attempt: number) {
    super(
      `attempt ${attempt} of ${requestId} failed after a newer attempt took over: redelivered, not recorded`,
    );
  }
}

export interface FailureContext {
  store: DocumentStore;
  publisher: Publisher;
  notifier?: Notifier;
  clock: Clock;
  logger: Logger;
  request: ProcessorRequest;
  attempt: number;
  original: OriginalMessage;
  durationMs: number;
  /** How long to wait for a source that has not published, and for how long at most. */
  notReady: { retryAfterSeconds: number; deadlineSeconds: number };
}

/** The earlier partitions a NotReadyError names (read by shape: the processor may bundle its own copy of the kit). */
function partitionsOf(error: unknown): string[] {
  const partitions =
    typeof error === 'object' && error !== null ? (error as { partitions?: unknown }).partitions : undefined;
  return Array.isArray(partitions) ? partitions.filter((p): p is string => typeof p === 'string') : [];
}

/**
 * Decides what a processor failure means for delivery (see ack-contract.ts): throws to have it
 * redelivered, or returns once it is recorded in the queue.
 */
export async function handleProcessorFailure(error: unknown, ctx: FailureContext): Promise<void> {
  const classification = classify(error);
  const described = describeError(error);
  const now = ctx.clock.now();
  const eventId = attemptEventId(ctx.request.requestId, ctx.attempt, 'processor_failed');
  const action = actionFor(classification.kind);
  const fields = { ...classification, errorName: described.name, attempt: ctx.attempt };
  const event = {
    eventId,
    type: 'processor_failed' as const,
    at: now.toISOString(),
    ...requestEventFields(ctx.request, ctx.attempt),
    durationMs: ctx.durationMs,
    ...errorEventFields(classification, described),
  };
  if (!(await isCurrentAttempt(ctx.store, ctx.request.requestId, ctx.attempt))) {
    // A newer attempt began (this one outlived its lease) or completed the request: the outcome is
    // the newer attempt's. The failure stays in the log and nothing else changes; the delivery is
    // not acked, though: it is the same message, and the newer attempt may have failed and be
    // waiting for its redelivery (an ack here could be the one Pub/Sub keeps). The redelivery finds
    // the request completed, settled, or still held, and acts on that.
    await appendEvent(ctx.store, {
      ...event,
      message: `${event.message} (superseded: a newer attempt owns the outcome)`,
    });
    ctx.logger.warn(
      { ...fields, err: described.message },
      'a superseded attempt failed; its failure is not recorded on the request; answering 5xx so the redelivery settles the message',
    );
    throw new SupersededAttemptError(ctx.request.requestId, ctx.attempt);
  }
  switch (action) {
    case 'redeliver': {
      ctx.logger.warn(
        { ...fields, err: described.message },
        'processor failed transiently; answering 5xx so Pub/Sub redelivers',
      );
      try {
        await appendEvent(ctx.store, event);
        await markRunFailed(
          ctx.store,
          ctx.request.requestId,
          ctx.attempt,
          'failed_transient',
          { kind: classification.kind, message: described.message },
          now,
        );
      } catch (recordError) {
        // The redelivery matters more than the record of it: log and keep the original error.
        ctx.logger.error(
          { err: describeError(recordError).message },
          'could not record the transient failure',
        );
      }
      throw error;
    }
    case 'wait_for_source':
    case 'fail_permanent': {
      const wanted = action === 'wait_for_source' ? 'waiting' : 'failed_permanent';
      // Recorded before the ack (see ack-contract.ts): a failed write throws.
      await appendEvent(ctx.store, event);
      const status = await recordFailure(
        ctx.store,
        {
          entryId: ctx.request.requestId,
          status: wanted,
          classification,
          error: described,
          request: ctx.request,
          phase: ctx.request.phase,
          original: ctx.original,
          failureEventId: eventId,
          nextRetryAt:
            wanted === 'waiting'
              ? new Date(now.getTime() + ctx.notReady.retryAfterSeconds * 1000).toISOString()
              : null,
          deadlineAt:
            wanted === 'waiting'
              ? new Date(now.getTime() + ctx.notReady.deadlineSeconds * 1000).toISOString()
              : null,
          ...(classification.reason === 'earlier_partitions_missing'
            ? { waitingForPartitions: partitionsOf(error) }
            : {}),
        },
        now,
        ctx.attempt,
      );
      if (status === 'superseded') {
        ctx.logger.warn(
          { ...fields },
          'a newer attempt began or completed while this one failed: nothing recorded',
        );
        throw new SupersededAttemptError(ctx.request.requestId, ctx.attempt);
      }
      const notice = failureNotice(ctx.request, {
        outcome: status,
        parentEventId: eventId,
        errorType: classification.kind,
        message: described.message,
        failedAt: now.toISOString(),
      });
      if (
        !(await markRunFailed(
          ctx.store,
          ctx.request.requestId,
          ctx.attempt,
          status,
          { kind: classification.kind, message: described.message },
          now,
          notice,
        ))
      ) {
        ctx.logger.warn(
          { ...fields, queueStatus: status },
          'a newer attempt completed while this one failed: its notice is not sent',
        );
        throw new SupersededAttemptError(ctx.request.requestId, ctx.attempt);
      }
      // The run shows the failure at once; if this publish fails, the redelivery re-sends it.
      await ctx.publisher.publish(PROCESSOR_COMPLETED_TOPIC, notice, { requestId: ctx.request.requestId });
      if (status === 'failed_permanent') {
        await ctx.notifier?.({
          kind: 'failed_permanent',
          dedupKey: `failed_permanent:${ctx.request.phase}:${ctx.request.processor}:${classification.reason}`,
          runId: ctx.request.runId,
          partition: ctx.request.partition,
          phase: ctx.request.phase,
          processor: ctx.request.processor,
          requestId: ctx.request.requestId,
          message: `${ctx.request.requestId}: ${described.message}`,
        });
      }
      const log = status === 'waiting' ? ctx.logger.info.bind(ctx.logger) : ctx.logger.error.bind(ctx.logger);
      log(
        { ...fields, err: described.message, queueStatus: status },
        status === 'waiting'
          ? 'source not ready; queued to wait, acking'
          : 'permanent failure recorded in failed_processor_queue; acking',
      );
      return;
    }
    default:
      assertNever(action);
  }
}
