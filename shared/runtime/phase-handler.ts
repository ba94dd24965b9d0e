import { PermanentError, TransientError } from '../errors/errors.ts';
import type { LoadedDefinition } from '../definition/load.ts';
import type { PhaseSpec } from '../definition/schema.ts';
import type { HttpClient } from '../lib/http-client.ts';
import { checkPartition, decodeBase64Json, parseMessage } from '../messages/decode.ts';
import {
  PROCESSOR_COMPLETED_TOPIC,
  ProcessorRequestSchema,
  type ProcessorRequest,
} from '../messages/messages.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { Publisher } from '../ports/publisher.ts';
import type { DocumentStore } from '../ports/store.ts';
import type { Notifier } from '../recovery/notifier.ts';
import { closeCancelledEntry } from '../recovery/cancel-entry.ts';
import { ackSuperseded } from './ack-superseded.ts';
import { attemptLeaseMs, holdLease } from './attempt-lease.ts';
import { attemptEventId, eventWrite, requestEventFields } from '../events/attempt-events.ts';
import { claimWaitingForLease, leaseWait } from './lease-wait.ts';
import { beginAttempt } from './processor-runs.ts';
import type { Processor } from './processor.ts';
import type { PubSubCloudEvent } from './pubsub-event.ts';
import { rejectPhaseMessage } from './reject-message.ts';
import { runAttempt } from './run-attempt.ts';

export interface PhaseHandlerDeps {
  definition: LoadedDefinition;
  phaseId: string;
  /** By processor name; the composition root may have wrapped them (fault-decorators.ts). */
  processors: Readonly<Record<string, Processor>>;
  store: DocumentStore;
  publisher: Publisher;
  http: HttpClient;
  clock: Clock;
  logger: Logger;
  notifier?: Notifier;
  /** How long an attempt's claim lasts without renewal (see attempt-lease.ts). */
  leaseMs?: number;
  /** How long a delivery waits for another delivery's lease before answering 5xx (lease-wait.ts). */
  leaseWaitMs?: number;
}

export type PhaseHandler = (event: PubSubCloudEvent) => Promise<void>;

/**
 * Turns a phase's processors into the handler of the phase's push endpoint: it parses the
 * request, claims an attempt and runs it. It returns or throws as ack-contract.ts says.
 */
export function createPhaseHandler(deps: PhaseHandlerDeps): PhaseHandler {
  const phase: PhaseSpec = deps.definition.phase(deps.phaseId);
  const missing = phase.processors.filter((p) => !deps.processors[p.name]).map((p) => p.name);
  if (missing.length > 0)
    throw new Error(`phase "${phase.id}": no implementation registered for ${missing.join(', ')}`);
  const timeoutMs = phase.function.timeoutSeconds * 1000;
  const leaseMs = attemptLeaseMs(deps.leaseMs, timeoutMs);
  const wait = leaseWait(leaseMs, timeoutMs, deps.leaseWaitMs);
  const reject = (error: unknown, event: PubSubCloudEvent, request: ProcessorRequest | null) =>
    rejectPhaseMessage(deps, { error, event, phase: phase.id, request });

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
      return reject(error, event, null);
    }
    if (request.phase !== phase.id) {
      return reject(
        new PermanentError(`request for phase "${request.phase}" was delivered to phase "${phase.id}"`),
        event,
        request,
      );
    }
    const spec = phase.processors.find((p) => p.name === request.processor);
    const processor = deps.processors[request.processor];
    if (!spec || !processor) {
      const known = phase.processors.map((p) => p.name).join(', ');
      return reject(
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

    const arrived = deps.clock.now();
    const claim = (at: Date) =>
      beginAttempt(deps.store, request, at, leaseMs, (attempt) =>
        eventWrite({
          eventId: attemptEventId(request.requestId, attempt, 'processor_started'),
          type: 'processor_started',
          at: at.toISOString(),
          ...requestEventFields(request, attempt),
        }),
      );
    const { begun, at: started } = await claimWaitingForLease(claim, deps.clock, wait);
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
        await ackSuperseded(deps, request, begun.currentRunId, 'request');
        return;
      case 'cancelled':
        // A retry of its entry, or a request sent before the cancel: its entry (if any) closes too.
        await closeCancelledEntry(
          deps.store,
          request.requestId,
          started.toISOString(),
          'the request arrived after',
        );
        logger.info({}, 'request of a cancelled run: acked, nothing run');
        return;
      case 'started':
        break;
    }
    const attempt = begun.attempt;
    logger.info({ attempt, triggerSource: request.triggerSource }, 'processor started');

    // The function's timeout runs from the request's arrival, a wait for a lease included.
    const stopRenewing = holdLease(deps, { request, attempt, started: arrived, leaseMs, timeoutMs, logger });
    try {
      await runAttempt(deps, { event, request, spec, processor, attempt, started, logger });
    } finally {
      await stopRenewing();
    }
  };
}
