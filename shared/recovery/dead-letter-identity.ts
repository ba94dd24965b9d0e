import type { PartitionScheme } from '../definition/partition.ts';
import {
  ProcessorOutcomeSchema,
  ProcessorRequestSchema,
  RunRequestSchema,
  TOPICS,
} from '../messages/messages.ts';
import {
  resolveRunRequest,
  runRequestEntryId,
  runRequestKey,
  type ResolvedRunRequest,
} from '../messages/run-request-key.ts';
import type { DocData } from '../ports/store.ts';
import type { PubSubCloudEvent } from '../runtime/pubsub-event.ts';

/** What a dead-lettered message is, and the key of its queue entry. */
export interface Identified {
  entryId: string;
  kind: 'processor_request' | 'run_request' | 'processor_outcome' | 'unknown';
  request: DocData | null;
  retryTarget: { topic: string; message: unknown } | null;
  runId: string | null;
  partition: string | null;
  phase: string;
  processor: string | null;
}

/** The topic the message was dead-lettered from. */
export function sourceTopicOf(attributes: Record<string, string>, event: PubSubCloudEvent): string {
  // `projects/P/subscriptions/<topic>-sub`: every source subscription is named after its topic.
  const subscription = attributes.CloudPubSubDeadLetterSourceSubscription ?? '';
  const fromSubscription = subscription.split('/').pop()?.replace(/-sub$/, '');
  if (fromSubscription) return fromSubscription;
  return (event.source ?? '').split('/').pop()?.replace(/-dlq$/, '') ?? 'unknown';
}

/**
 * Reads a dead-lettered payload as the message it was: a processor request (its entry is the
 * request's), a processor outcome or a run request (a retry re-publishes it; a run request with
 * its partition resolved), or unknown (kept under its message id, for a person).
 */
export function identify(
  scheme: PartitionScheme,
  data: unknown,
  messageId: string,
  sourceTopic: string,
  publishedAt: Date,
): Identified {
  const request = ProcessorRequestSchema.safeParse(data);
  if (request.success) {
    const r = request.data;
    return {
      entryId: r.requestId,
      kind: 'processor_request',
      request: { ...r },
      retryTarget: null,
      runId: r.runId,
      partition: r.partition,
      phase: r.phase,
      processor: r.processor,
    };
  }
  const outcome = ProcessorOutcomeSchema.safeParse(data);
  if (outcome.success) {
    const o = outcome.data;
    return {
      entryId: `completion-${o.requestId}`,
      kind: 'processor_outcome',
      request: null,
      retryTarget: { topic: TOPICS.processorCompletions, message: o },
      runId: o.runId,
      partition: o.partition,
      phase: 'orchestrator',
      processor: o.processor,
    };
  }
  const run = RunRequestSchema.safeParse(data);
  if (run.success) {
    let resolved: ResolvedRunRequest | undefined;
    try {
      // Stored with its partition: a retry tomorrow must run the partition it was for, not tomorrow's yesterday.
      resolved = resolveRunRequest(scheme, run.data, publishedAt);
    } catch {
      resolved = undefined;
    }
    // Keyed by resolved content: a run request that dead-letters again after a retry finds its entry.
    if (resolved) {
      return {
        entryId: runRequestEntryId(runRequestKey(resolved)),
        kind: 'run_request',
        request: null,
        retryTarget: { topic: TOPICS.runRequests, message: resolved },
        runId: null,
        partition: resolved.partition,
        phase: 'orchestrator',
        processor: null,
      };
    }
  }
  return {
    entryId: `msg-${messageId}`,
    kind: 'unknown',
    request: null,
    retryTarget: null,
    runId: null,
    partition: null,
    phase: sourceTopic,
    processor: null,
  };
}
