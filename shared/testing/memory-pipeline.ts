import { createHttpClient, type HttpClient } from '../lib/http-client.ts';
import { createMemoryLogger } from '../lib/logger.ts';
import type { PipelineFunctions } from '../adapters/functions-entry.ts';
import { TOPICS, type RunRequest } from '../messages/messages.ts';
import { createOrchestrator } from '../orchestration/orchestrator.ts';
import { parseRun, type RunDoc } from '../orchestration/run-doc.ts';
import { runAutoRetryTick } from '../recovery/auto-retry.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { createPhaseHandler } from '../runtime/phase-handler.ts';
import type { PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import { manualClock } from './manual-clock.ts';
import { MemoryPublisher } from './memory-publisher.ts';
import { MemoryStore } from './memory-store.ts';
import { withExpiry } from '../store/retention.ts';

/** A pipeline wired as its functions are, over the in-memory store and publisher: every message delivered in order. */
export interface MemoryPipeline {
  store: MemoryStore;
  publisher: MemoryPublisher;
  clock: ReturnType<typeof manualClock>;
  /** Publishes a run request for `partition` and delivers everything that follows; the run it started. */
  run(partition: string, request?: Omit<Partial<RunRequest>, 'partition'>): Promise<RunDoc | undefined>;
  /** Delivers what is published and not yet delivered (auto-retry ticks too), until nothing is left. */
  deliver(): Promise<void>;
  /** Publishes an auto-retry tick (after `clock.advance`, say) and delivers what it causes. */
  autoRetry(): Promise<void>;
}

const MAX_DELIVERIES = 10_000;
/** Deliveries of one message before it would be dead-lettered (the definitions' minimum, 5). */
const MAX_ATTEMPTS = 5;

/**
 * The orchestrator and every phase of `pipeline` over a `MemoryStore` and a `MemoryPublisher`,
 * for unit tests of a pipeline's processors, gates and failures without emulators. The
 * processors' HTTP goes through `http` (a real client by default, for a stand-in server).
 */
export function memoryPipeline(
  pipeline: PipelineFunctions,
  options: { http?: HttpClient } = {},
): MemoryPipeline {
  const { definition } = pipeline;
  const store = new MemoryStore();
  const publisher = new MemoryPublisher();
  const clock = manualClock();
  const logger = createMemoryLogger();
  const http = options.http ?? createHttpClient({ retries: 0 });
  const processors = typeof pipeline.processors === 'function' ? pipeline.processors() : pipeline.processors;
  // The handlers write as deployed ones do: bookkeeping with its expiry (the test reads `store` itself).
  const stamped = withExpiry(store, definition.retention, clock);
  const orchestrator = createOrchestrator({
    definition,
    expectations: pipeline.expectations,
    store: stamped,
    publisher,
    clock,
    logger,
  });
  const phases = new Map(
    definition.phases.map((p) => [
      `phase-${p.id}`,
      createPhaseHandler({
        definition,
        phaseId: p.id,
        processors,
        store: stamped,
        publisher,
        clock,
        logger,
        http,
        // Deliveries here are one at a time on a hand-moved clock: a held lease is a crashed
        // attempt's, which only `clock.advance` lapses; waiting for it in real time would only stall.
        leaseWaitMs: 0,
      }),
    ]),
  );
  let cursor = 0;
  const eventOf = (m: MemoryPublisher['published'][number]): PubSubCloudEvent => ({
    id: m.messageId,
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: `//pubsub.googleapis.com/projects/memory/topics/${m.topic}`,
    data: {
      message: {
        data: Buffer.from(JSON.stringify(m.message)).toString('base64'),
        messageId: m.messageId,
        attributes: m.attributes ?? {},
        publishTime: clock.now().toISOString(),
      },
      subscription: `projects/memory/subscriptions/${m.topic}`,
    },
  });
  /** Messages a handler failed (an answer other than 2xx): delivered again, as Pub/Sub redelivers. */
  const redeliveries: { message: MemoryPublisher['published'][number]; attempts: number }[] = [];
  async function handle(m: MemoryPublisher['published'][number]): Promise<void> {
    const event = eventOf(m);
    const phase = phases.get(m.topic);
    if (m.topic === TOPICS.runRequests) await orchestrator.onRunRequest(event);
    else if (m.topic === TOPICS.processorCompletions) await orchestrator.onProcessorOutcome(event);
    else if (m.topic === TOPICS.autoRetryTicks)
      await runAutoRetryTick({ definition, store: stamped, publisher, clock, logger });
    else if (phase) await phase(event);
  }
  async function deliver(): Promise<void> {
    for (let n = 0; cursor < publisher.published.length || redeliveries.length > 0; n += 1) {
      if (n >= MAX_DELIVERIES)
        throw new Error(`more than ${MAX_DELIVERIES} deliveries: the pipeline publishes without end`);
      const next =
        cursor < publisher.published.length
          ? { message: publisher.published[cursor++]!, attempts: 0 }
          : redeliveries.shift()!;
      try {
        await handle(next.message);
      } catch (error) {
        const attempts = next.attempts + 1;
        if (attempts < MAX_ATTEMPTS) redeliveries.push({ message: next.message, attempts });
        else
          // Where Pub/Sub would dead-letter it: the test sees the failure, and what failed.
          throw new Error(
            `message ${next.message.messageId} on ${next.message.topic} failed ${attempts} deliveries (it would be ` +
              `dead-lettered): ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
      }
    }
  }
  return {
    store,
    publisher,
    clock,
    deliver,
    async run(partition, request = {}) {
      const messageId = await publisher.publish(TOPICS.runRequests, {
        triggerSource: 'manual',
        ...request,
        partition,
      });
      await deliver();
      const run = store.docs(COLLECTIONS.runs).find((r) => r.requestMessageId === messageId);
      return run ? parseRun(String(run.runId), run) : undefined;
    },
    async autoRetry() {
      await publisher.publish(TOPICS.autoRetryTicks, {});
      await deliver();
    },
  };
}
