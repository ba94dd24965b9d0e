import { writeEvent } from '../events/write-event.ts';
import type { LoadedDefinition } from '../definition/load.ts';
import { firstPublishedAt } from '../messages/run-request-key.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { DocumentStore } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { storedMessage } from '../runtime/failure-queue.ts';
import { messageIdOf, type PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import { isCancelledRun, supersedingRun } from '../orchestration/generation.ts';
import { identify, sourceTopicOf } from './dead-letter-identity.ts';
import type { Notifier } from './notifier.ts';
import { nextRetryDelayMs } from './queue-policy.ts';
import { newQueueEntry, readEntryForRewrite } from './queue-entry.ts';
import { PipelineEventSchema } from '../events/pipeline-event.ts';

export interface DlqRecorderDeps {
  definition: LoadedDefinition;
  store: DocumentStore;
  clock: Clock;
  logger: Logger;
  notifier?: Notifier;
}

/**
 * Consumes every dead-letter topic. Writes the durable queue entry (keyed by requestId)
 * with the original message, the delivery count, the last error and its type from the event
 * log, and the first failure time; acks only after the entry is written (see ack-contract.ts).
 */
export function createDlqRecorder(deps: DlqRecorderDeps) {
  return async function recordDeadLetter(event: PubSubCloudEvent): Promise<void> {
    const message = event.data?.message;
    const attributes = message?.attributes ?? {};
    const messageId = messageIdOf(event);
    const dataText = Buffer.from(message?.data ?? '', 'base64').toString('utf8');
    let data: unknown = null;
    try {
      data = JSON.parse(dataText);
    } catch {
      data = null;
    }
    const sourceTopic = sourceTopicOf(attributes, event);
    const id = identify(
      deps.definition.scheme,
      data,
      messageId,
      sourceTopic,
      firstPublishedAt(message?.publishTime, attributes, deps.clock.now()),
    );
    const deliveryCount = Number(attributes.CloudPubSubDeadLetterSourceDeliveryCount ?? '') || null;
    const events =
      id.kind === 'processor_request'
        ? await deps.store.query(COLLECTIONS.events, {
            filters: [{ field: 'requestId', op: '==', value: id.entryId }],
          })
        : [];
    const failures = events
      .map((e) => PipelineEventSchema.safeParse(e.data))
      .flatMap((parsed) => (parsed.success && parsed.data.type === 'processor_failed' ? [parsed.data] : []))
      .sort((a, b) => a.at.localeCompare(b.at));
    const last = failures.at(-1);
    const now = deps.clock.now();
    const nowIso = now.toISOString();
    const status = await deps.store.transaction(
      async (tx): Promise<'pending' | 'failed_permanent' | 'waiting' | 'late' | 'superseded'> => {
        const { existing, replaced } = await readEntryForRewrite(tx, id.entryId);
        const retryCount = existing?.retryCount ?? 0;
        const exhausted = retryCount >= deps.definition.queue.maxRetries;
        const next = id.kind === 'unknown' || exhausted ? 'failed_permanent' : 'pending';
        const lastError =
          last?.message ??
          `dead-lettered after ${deliveryCount ?? '?'} deliveries from ` +
            `${sourceTopic}${id.kind === 'unknown' ? ' (payload is not a message phasegate knows)' : ''}`;
        const eventId = `${id.entryId}--dead_lettered--${messageId}`;
        const deadLettered = (message: string) =>
          writeEvent(tx, {
            eventId,
            type: 'dead_lettered',
            at: nowIso,
            runId: id.runId,
            requestId: id.entryId,
            partition: id.partition,
            phase: id.phase,
            processor: id.processor,
            attempt: null,
            triggerSource: null,
            traceparent: null,
            parentEventId: last?.eventId ?? null,
            deliveryCount,
            sourceTopic,
            message,
          });
        // A late dead letter (an old delivery of what has since completed, or was closed by a person)
        // is history: an event, never a reopened entry or a re-run.
        const [run, lock] = await Promise.all([
          id.kind === 'processor_request' ? tx.get(COLLECTIONS.processorRuns, id.entryId) : undefined,
          id.partition ? tx.get(COLLECTIONS.runLocks, id.partition) : undefined,
        ]);
        const closed =
          existing?.status === 'succeeded' || existing?.status === 'discarded'
            ? existing.status
            : run?.status === 'completed'
              ? 'completed'
              : null;
        if (closed) {
          deadLettered(`late dead letter, ignored: ${id.entryId} is already ${closed} (${lastError})`);
          return 'late';
        }
        // Of a run a newer one replaced (the dead letter may come days later, past the reconciler's
        // sweep of superseded runs): history too, never an entry that would re-run the old run.
        const newer = id.runId ? supersedingRun(lock, id.runId) : null;
        if (id.runId && !existing && isCancelledRun(lock, id.runId)) {
          deadLettered(`dead letter of cancelled run ${id.runId}, ignored: ${lastError}`);
          return 'superseded';
        }
        if (newer && !existing) {
          deadLettered(
            `dead letter of superseded run ${id.runId} (run ${newer} is current), ignored: ${lastError}`,
          );
          return 'superseded';
        }
        // Waiting for its source stays waiting: the source's cadence and deadline still decide.
        if (existing?.status === 'waiting') {
          deadLettered(`dead letter while waiting for the source, still waiting: ${lastError}`);
          tx.set(
            COLLECTIONS.queue,
            id.entryId,
            {
              deliveryCount,
              lastFailedAt: nowIso,
              occurrences: (existing.occurrences ?? 0) + 1,
              updatedAt: nowIso,
            },
            { merge: true },
          );
          return 'waiting';
        }
        deadLettered(lastError);
        const entry = {
          requestId: id.entryId,
          status: next,
          errorType: last?.errorType ?? 'transient',
          errorReason: last?.errorReason ?? 'dead_lettered',
          errorName: last?.errorName ?? 'DeadLettered',
          lastError: exhausted ? `gave up after ${retryCount} automatic retries: ${lastError}` : lastError,
          stack: last?.stack ?? null,
          runId: id.runId,
          partition: id.partition,
          phase: id.phase,
          processor: id.processor,
          request: id.request,
          retryTarget: id.retryTarget,
          // Capped: a poison message of several MB must not make the recorder fail too (it would end on control-dlq).
          originalMessage: storedMessage({
            messageId,
            data: message?.data ?? null,
            attributes,
            subscription: attributes.CloudPubSubDeadLetterSourceSubscription ?? null,
          }),
          deliveryCount,
          failureEventId: eventId,
          firstFailedAt: existing?.firstFailedAt ?? failures[0]?.at ?? nowIso,
          // A dead letter is a new failure: a later wait resumes afresh.
          dependencyResumeKey: null,
          nextRetryAt:
            next === 'pending'
              ? new Date(now.getTime() + nextRetryDelayMs(deps.definition.queue, retryCount)).toISOString()
              : null,
        } as const;
        tx.set(COLLECTIONS.queue, id.entryId, newQueueEntry(entry, nowIso, existing, replaced));
        return next;
      },
    );
    const logger = deps.logger.child({
      requestId: id.entryId,
      runId: id.runId,
      phase: id.phase,
      processor: id.processor,
    });
    if (status === 'failed_permanent') {
      logger.error({ deliveryCount, sourceTopic }, 'dead letter recorded as failed_permanent');
      await deps.notifier?.({
        kind: 'failed_permanent',
        dedupKey: `failed_permanent:${id.phase}:${id.processor ?? '-'}:dead_lettered`,
        runId: id.runId,
        partition: id.partition,
        phase: id.phase,
        processor: id.processor,
        requestId: id.entryId,
        message: `${id.entryId} dead-lettered from ${sourceTopic} and will not be retried automatically`,
      });
    } else if (status === 'superseded') {
      logger.info(
        { deliveryCount, sourceTopic },
        'dead letter of a superseded run: recorded as an event only',
      );
    } else if (status === 'late') {
      logger.info(
        { deliveryCount, sourceTopic },
        'late dead letter of a request already closed: recorded as an event only',
      );
    } else if (status === 'waiting') {
      logger.info(
        { deliveryCount, sourceTopic },
        'dead letter of a request waiting for its source: still waiting',
      );
    } else {
      logger.warn(
        { deliveryCount, sourceTopic },
        'dead letter recorded in failed_processor_queue (pending auto-retry)',
      );
    }
  };
}
