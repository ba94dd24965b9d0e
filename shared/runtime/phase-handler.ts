import { randomUUID } from 'node:crypto';
import { PermanentError, TransientError } from '../errors/errors.ts';
import { describeError } from '../errors/describe.ts';
import type { LoadedDefinition } from '../definition/load.ts';
import type { PhaseSpec } from '../definition/schema.ts';
import type { HttpClient } from '../lib/http-client.ts';
import { checkPartition, decodeBase64Json, parseMessage } from '../messages/decode.ts';
import { childTraceparent } from '../messages/fields.ts';
import {
  PROCESSOR_COMPLETED_TOPIC,
  ProcessorRequestSchema,
  type ProcessorCompleted,
  type ProcessorFailed,
  type ProcessorRequest,
} from '../messages/messages.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { Publisher } from '../ports/publisher.ts';
import type { DocumentStore } from '../ports/store.ts';
import { attemptEventId, eventWrite, requestEventFields } from './events.ts';
import type { FaultInjector } from './faults.ts';
import type { Notifier } from '../recovery/notifier.ts';
import { handleProcessorFailure } from './handle-failure.ts';
import { beginAttempt, completedRunWrite, renewLease } from './processor-runs.ts';
import type { Processor } from './processor.ts';
import { messageIdOf, type PubSubCloudEvent } from './pubsub-event.ts';
import { originalOf, recordRejection } from './reject-message.ts';
import { createWriter } from './writer.ts';
import { verifyWrites } from './verify-writes.ts';
import { recordSuperseded, SupersededError } from '../orchestration/generation.ts';
import { supersedeEntries } from '../recovery/supersede.ts';

export interface PhaseHandlerDeps {
  definition: LoadedDefinition;
  phaseId: string;
  processors: Readonly<Record<string, Processor>>;
  store: DocumentStore;
  publisher: Publisher;
  http: HttpClient;
  clock: Clock;
  logger: Logger;
  faults?: FaultInjector;
  notifier?: Notifier;
  /** How long an attempt's claim lasts without renewal (default {@link DEFAULT_LEASE_MS}, at most the function's timeout). */
  leaseMs?: number;
}

/**
 * A running attempt holds a short lease and renews it every third of it while its process lives,
 * never past the function's timeout. A killed attempt renews nothing, so a redelivery takes the
 * request over within this, not within the whole timeout (measured: a 90 s lease outlived the
 * 5 deliveries of a 5-60 s backoff and a queue retry's 48-72 s backoff, so a kill cost a dead
 * letter and then retries that found the lease still held).
 */
export const DEFAULT_LEASE_MS = 30_000;

export type PhaseHandler = (event: PubSubCloudEvent) => Promise<void>;

/**
 * Turns a phase's processors into a functions-framework cloudEvent handler.
 * Return means ack; throw means redeliver. Nothing here swallows an error: a failure that
 * is not worth redelivering is first recorded durably, then acked on purpose.
 */
export function createPhaseHandler(deps: PhaseHandlerDeps): PhaseHandler {
  const phase: PhaseSpec = deps.definition.phase(deps.phaseId);
  const missing = phase.processors.filter((p) => !deps.processors[p.name]).map((p) => p.name);
  if (missing.length > 0)
    throw new Error(`phase "${phase.id}": no implementation registered for ${missing.join(', ')}`);
  const timeoutMs = phase.function.timeoutSeconds * 1000;
  if (deps.leaseMs !== undefined && !(deps.leaseMs > 0))
    throw new Error(`leaseMs must be a positive number of milliseconds, got ${deps.leaseMs}`);
  const leaseMs = Math.min(deps.leaseMs ?? DEFAULT_LEASE_MS, timeoutMs);

  /**
   * Renews an attempt's lease while it runs, one renewal at a time (a slow one is never overtaken
   * by a later one, so the lease never moves back). Returns the function that stops renewing and
   * waits for a renewal still in flight, so none lands after the attempt's outcome.
   */
  function holdLease(
    request: ProcessorRequest,
    attempt: number,
    started: Date,
    logger: Logger,
  ): () => Promise<void> {
    const timeoutAt = started.getTime() + timeoutMs;
    let stopped = false;
    let inFlight: Promise<unknown> = Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const schedule = () => {
      timer = setTimeout(renew, leaseMs / 3);
      timer.unref();
    };
    const renew = () => {
      const now = deps.clock.now().getTime();
      if (stopped || now >= timeoutAt) return;
      inFlight = renewLease(
        deps.store,
        request.requestId,
        attempt,
        new Date(Math.min(now + leaseMs, timeoutAt)),
      ).then(
        (held) => held && !stopped && schedule(),
        // A missed renewal is not a failure of the work: the next one may land; if none does, a
        // redelivery takes over after the lease, as after a kill.
        (error: unknown) => {
          logger.warn({ attempt, err: describeError(error).message }, 'lease renewal failed');
          if (!stopped) schedule();
        },
      );
    };
    schedule();
    return async () => {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    };
  }

  async function rejectMessage(
    error: unknown,
    event: PubSubCloudEvent,
    request: ProcessorRequest | null,
  ): Promise<void> {
    const now = deps.clock.now();
    const { eventId, described } = await recordRejection(deps.store, {
      event,
      error,
      phase: phase.id,
      request,
      now,
    });
    if (request) {
      const notice: ProcessorFailed = {
        outcome: 'failed_permanent',
        runId: request.runId,
        requestId: request.requestId,
        partition: request.partition,
        phase: request.phase,
        processor: request.processor,
        triggerSource: request.triggerSource,
        parentEventId: eventId,
        traceparent: childTraceparent(request.traceparent),
        errorType: 'permanent',
        message: described.message,
        failedAt: now.toISOString(),
      };
      await deps.publisher.publish(PROCESSOR_COMPLETED_TOPIC, notice, { requestId: request.requestId });
    }
    deps.logger.error(
      {
        phase: phase.id,
        messageId: messageIdOf(event),
        requestId: request?.requestId,
        err: described.message,
      },
      'message rejected: recorded as failed_permanent, acking',
    );
  }

  /** An old run's request or write: one event, its open queue entry closed as superseded, acked. */
  async function ackSuperseded(request: ProcessorRequest, currentRunId: string, what: string): Promise<void> {
    const at = deps.clock.now().toISOString();
    await recordSuperseded(deps.store, {
      what,
      runId: request.runId,
      currentRunId,
      partition: request.partition,
      phase: request.phase,
      requestId: request.requestId,
      processor: request.processor,
      traceparent: request.traceparent,
      at,
    });
    await supersedeEntries(deps.store, [request.requestId], at);
    deps.logger.info(
      { runId: request.runId, requestId: request.requestId, currentRunId },
      `${what} of superseded run ${request.runId}: acked without running (run ${currentRunId} is current)`,
    );
  }

  /** One claimed attempt: run, verify, record and publish its completion, or handle its failure. */
  async function runAttempt(
    event: PubSubCloudEvent,
    request: ProcessorRequest,
    spec: PhaseSpec['processors'][number],
    processor: Processor,
    attempt: number,
    started: Date,
    logger: Logger,
  ): Promise<void> {
    await deps.faults?.delay(request.processor);
    const writeStore = deps.faults ? deps.faults.storeFor(request.processor, deps.store) : deps.store;
    const writer = createWriter(
      writeStore,
      { runId: request.runId, partition: request.partition },
      deps.clock,
    );
    let completion: ProcessorCompleted;
    try {
      const result = await processor.run({
        request,
        attempt,
        store: deps.store,
        write: writer.write,
        http: deps.http,
        logger,
        clock: deps.clock,
      });
      const records = await verifyWrites(deps.store, spec, request.runId, writer.written);
      const finished = deps.clock.now();
      completion = {
        runId: request.runId,
        requestId: request.requestId,
        partition: request.partition,
        phase: phase.id,
        processor: request.processor,
        triggerSource: request.triggerSource,
        parentEventId: attemptEventId(request.requestId, attempt, 'processor_completed'),
        traceparent: childTraceparent(request.traceparent),
        completedAt: finished.toISOString(),
        durationMs: finished.getTime() - started.getTime(),
        records,
        metrics: result.metrics ?? {},
      };
    } catch (error) {
      // A newer run took the partition while this one ran: nothing of this attempt was or will be written.
      if (error instanceof SupersededError) return ackSuperseded(request, error.currentRunId, 'write');
      const durationMs = deps.clock.now().getTime() - started.getTime();
      const notReady = {
        retryAfterSeconds: deps.definition.queue.notReadyRetrySeconds,
        deadlineSeconds: deps.definition.queue.notReadyDeadlineSeconds,
      };
      return handleProcessorFailure(error, {
        store: deps.store,
        publisher: deps.publisher,
        notifier: deps.notifier,
        clock: deps.clock,
        logger,
        request,
        attempt,
        original: originalOf(event),
        durationMs,
        notReady,
      });
    }

    // Recorded first, then published. Published alongside, a crash of the record after the publish
    // left an accepted completion whose request still looked unfinished: its redelivery re-ran the
    // processor and a failure of that re-run failed a run whose gate had passed (the model test
    // found it). Now a failed record publishes nothing and the redelivery re-runs; a failed publish
    // answers 500 and the redelivery finds the request completed and re-publishes it.
    await deps.store.writeBatch([
      completedRunWrite(completion),
      eventWrite({
        eventId: completion.parentEventId,
        type: 'processor_completed',
        at: completion.completedAt,
        ...requestEventFields(request, attempt),
        durationMs: completion.durationMs,
        records: completion.records,
        metrics: completion.metrics,
      }),
    ]);
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

  return async function handlePhaseEvent(event) {
    let request: ProcessorRequest;
    try {
      request = parseMessage(
        ProcessorRequestSchema,
        decodeBase64Json(event.data?.message?.data, 'ProcessorRequest'),
        'ProcessorRequest',
      );
      checkPartition(deps.definition.scheme, request.partition, 'ProcessorRequest');
    } catch (error) {
      return rejectMessage(error, event, null);
    }
    if (request.phase !== phase.id) {
      return rejectMessage(
        new PermanentError(`request for phase "${request.phase}" was delivered to phase "${phase.id}"`),
        event,
        request,
      );
    }
    const spec = phase.processors.find((p) => p.name === request.processor);
    const processor = deps.processors[request.processor];
    if (!spec || !processor) {
      const known = phase.processors.map((p) => p.name).join(', ');
      return rejectMessage(
        new PermanentError(
          `unknown processor "${request.processor}" for phase "${phase.id}"; known processors: ${known}`,
        ),
        event,
        request,
      );
    }
    const logger = deps.logger.child({
      runId: request.runId,
      requestId: request.requestId,
      phase: phase.id,
      processor: request.processor,
      partition: request.partition,
    });

    const started = deps.clock.now();
    const startedEvent = (attempt: number) =>
      eventWrite({
        eventId: attemptEventId(request.requestId, attempt, 'processor_started'),
        type: 'processor_started',
        at: started.toISOString(),
        ...requestEventFields(request, attempt),
      });
    const begun = await beginAttempt(deps.store, request, started, leaseMs, startedEvent);
    switch (begun.state) {
      case 'completed':
        // The work is done; the completion may not have left. Re-publishing is idempotent downstream.
        await deps.publisher.publish(PROCESSOR_COMPLETED_TOPIC, begun.completion, {
          requestId: request.requestId,
        });
        logger.info(
          { duplicate: true },
          'duplicate delivery of a completed request: completion re-published, work not redone',
        );
        return;
      case 'in_progress':
        throw new TransientError(
          `request ${request.requestId} is being processed by another delivery until ${begun.leaseExpiresAt}`,
        );
      case 'settled':
        if (begun.notice)
          await deps.publisher.publish(PROCESSOR_COMPLETED_TOPIC, begun.notice, {
            requestId: request.requestId,
          });
        logger.info(
          { queueStatus: begun.status },
          'request already settled in failed_processor_queue; failure notice re-sent, acking without rerun',
        );
        return;
      case 'superseded':
        await ackSuperseded(request, begun.currentRunId, 'request');
        return;
      case 'started':
        break;
    }
    const attempt = begun.attempt;
    logger.info({ attempt, triggerSource: request.triggerSource }, 'processor started');

    const stopRenewing = holdLease(request, attempt, started, logger);
    try {
      await runAttempt(event, request, spec, processor, attempt, started, logger);
    } finally {
      await stopRenewing();
    }
  };
}
