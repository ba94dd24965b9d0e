import { randomUUID } from 'node:crypto';
import type { LoadedDefinition } from '../definition/load.ts';
import type { ProcessorSpec } from '../definition/schema.ts';
import type { HttpClient } from '../lib/http-client.ts';
import { childTraceparent } from '../messages/fields.ts';
import {
  PROCESSOR_COMPLETED_TOPIC,
  type ProcessorCompleted,
  type ProcessorRequest,
} from '../messages/messages.ts';
import { SupersededError } from '../orchestration/generation.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { Publisher } from '../ports/publisher.ts';
import type { DocumentStore } from '../ports/store.ts';
import type { Notifier } from '../recovery/notifier.ts';
import { ackSuperseded } from './ack-superseded.ts';
import { attemptEventId, eventWrite, requestEventFields } from '../events/attempt-events.ts';
import { handleProcessorFailure } from './handle-failure.ts';
import { completedRunWrite } from './processor-runs.ts';
import type { Processor } from './processor.ts';
import type { PubSubCloudEvent } from './pubsub-event.ts';
import { originalOf } from './reject-message.ts';
import { createWriter } from './writer.ts';

export interface AttemptDeps {
  definition: LoadedDefinition;
  store: DocumentStore;
  publisher: Publisher;
  http: HttpClient;
  clock: Clock;
  /** The handler's logger (the attempt's own is {@link ClaimedAttempt.logger}). */
  logger: Logger;
  notifier?: Notifier;
}

/** An attempt `beginAttempt` claimed: its lease is held while it runs. */
export interface ClaimedAttempt {
  event: PubSubCloudEvent;
  request: ProcessorRequest;
  spec: ProcessorSpec;
  processor: Processor;
  attempt: number;
  started: Date;
  /** Carries the request's runId, requestId, phase, processor and partition. */
  logger: Logger;
}

/**
 * One claimed attempt: runs the processor, commits its writes with its completion record, then
 * publishes the completion; or hands its failure to {@link handleProcessorFailure}, which throws or
 * records.
 */
export async function runAttempt(deps: AttemptDeps, claimed: ClaimedAttempt): Promise<void> {
  const { request, attempt, started, logger } = claimed;
  const writer = createWriter(
    deps.store,
    { runId: request.runId, partition: request.partition },
    claimed.spec,
    deps.clock,
  );
  let completion: ProcessorCompleted;
  try {
    const result = await claimed.processor.run({
      request,
      attempt,
      store: deps.store,
      write: writer.write,
      http: deps.http,
      logger,
      clock: deps.clock,
    });
    const finished = deps.clock.now();
    completion = {
      runId: request.runId,
      requestId: request.requestId,
      partition: request.partition,
      phase: request.phase,
      processor: request.processor,
      triggerSource: request.triggerSource,
      parentEventId: attemptEventId(request.requestId, attempt, 'processor_completed'),
      traceparent: childTraceparent(request.traceparent),
      completedAt: finished.toISOString(),
      durationMs: finished.getTime() - started.getTime(),
      records: writer.records(),
      metrics: result.metrics ?? {},
    };
    // The data and the completion record in one commit, then the publish. The commit proves the
    // data is there, so nothing is read back: Firestore acknowledges a commit only once all of it is
    // durable, and a failed one leaves none of it (the gate still counts the data before the next
    // phase). A failed commit publishes nothing and is a failure like any other write's; a failed
    // publish answers 500 and the redelivery finds the request completed and re-publishes it.
    await writer.commit([completedRunWrite(completion), completedEvent(request, attempt, completion)]);
  } catch (error) {
    // A newer run took the partition while this one ran: nothing of this attempt was or will be written.
    if (error instanceof SupersededError) return ackSuperseded(deps, request, error.currentRunId, 'write');
    return handleProcessorFailure(error, {
      store: deps.store,
      publisher: deps.publisher,
      notifier: deps.notifier,
      clock: deps.clock,
      logger,
      request,
      attempt,
      original: originalOf(claimed.event),
      durationMs: deps.clock.now().getTime() - started.getTime(),
      notReady: {
        retryAfterSeconds: deps.definition.queue.notReadyRetrySeconds,
        deadlineSeconds: deps.definition.queue.notReadyDeadlineSeconds,
      },
    });
  }

  await deps.publisher.publish(PROCESSOR_COMPLETED_TOPIC, completion, {
    requestId: request.requestId,
    publishId: randomUUID(),
  });
  logger.info(
    {
      attempt,
      durationMs: completion.durationMs,
      records: completion.records,
      metrics: completion.metrics,
    },
    'processor completed',
  );
}

const completedEvent = (request: ProcessorRequest, attempt: number, completion: ProcessorCompleted) =>
  eventWrite({
    eventId: completion.parentEventId,
    type: 'processor_completed',
    at: completion.completedAt,
    ...requestEventFields(request, attempt),
    durationMs: completion.durationMs,
    records: completion.records,
    metrics: completion.metrics,
  });
