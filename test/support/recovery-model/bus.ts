import { TOPICS, phaseDeadLetterTopic } from '../../../shared/messages/messages.ts';
import { relativePartition } from '../../../shared/messages/run-request-key.ts';
import type { PubSubCloudEvent } from '../../../shared/runtime/pubsub-event.ts';
import type { MemoryPublisher } from '../../../shared/testing/memory-publisher.ts';
import { testDefinition } from '../../fixtures/test-pipeline/definition.ts';
import { MAX_DELIVERIES } from './actions.ts';

export interface InFlight {
  topic: string;
  message: unknown;
  messageId: string;
  publishTime: string;
  deliveries: number;
}

export interface ModelClock {
  now(): Date;
  advance(ms: number): void;
}

type Handler = (event: PubSubCloudEvent) => Promise<unknown>;

/** The subscriptions: what is published waits to be pushed, acked, redelivered or dead-lettered. */
export function createBus({
  publisher,
  clock,
  handlerOf,
  recorder,
}: {
  publisher: MemoryPublisher;
  clock: ModelClock;
  handlerOf: (topic: string) => Handler;
  recorder: Handler;
}) {
  const inFlight: InFlight[] = [];
  const delivered: InFlight[] = [];
  const controlDlq: unknown[] = [];
  const requestedDates = new Set<string>();
  let seen = 0;
  /** Messages published since the last look join the subscriptions. */
  function sync(): void {
    for (; seen < publisher.published.length; seen += 1) {
      const m = publisher.published[seen]!;
      if (m.topic === TOPICS.runRequests) {
        const r = m.message as { partition?: string; relative?: number };
        requestedDates.add(
          r.partition ?? relativePartition(testDefinition.scheme, clock.now(), r.relative ?? 0),
        );
      }
      inFlight.push({
        topic: m.topic,
        message: m.message,
        messageId: m.messageId,
        publishTime: clock.now().toISOString(),
        deliveries: 0,
      });
    }
  }
  const eventOf = (m: InFlight, attributes: Record<string, string> = {}): PubSubCloudEvent => ({
    id: m.messageId,
    source: `//pubsub.googleapis.com/projects/p/topics/${m.topic}`,
    data: {
      message: {
        data: Buffer.from(JSON.stringify(m.message)).toString('base64'),
        messageId: m.messageId,
        publishTime: m.publishTime,
        attributes,
      },
      subscription: `projects/p/subscriptions/${m.topic}-sub`,
    },
  });
  /** One push delivery: true when it was acked (2xx). */
  async function push(m: InFlight): Promise<boolean> {
    m.deliveries += 1;
    try {
      await handlerOf(m.topic)(eventOf(m));
      return true;
    } catch {
      return false;
    }
  }
  async function deadLetter(m: InFlight): Promise<void> {
    const dlq = m.topic.startsWith('phase-')
      ? phaseDeadLetterTopic(m.topic.slice('phase-'.length))
      : `${m.topic}-dlq`;
    const event = eventOf(m, {
      CloudPubSubDeadLetterSourceSubscription: `projects/p/subscriptions/${m.topic}-sub`,
      CloudPubSubDeadLetterSourceDeliveryCount: String(m.deliveries),
      CloudPubSubDeadLetterSourceTopicPublishTime: m.publishTime,
    });
    event.source = `//pubsub.googleapis.com/projects/p/topics/${dlq}`;
    // The recorder's own subscription redelivers too; what it cannot record goes to control-dlq.
    for (let attempt = 0; attempt < MAX_DELIVERIES; attempt += 1) {
      try {
        await recorder(event);
        return;
      } catch {
        // redelivered
      }
    }
    controlDlq.push(m.message);
  }
  /** The outcome of deliveries: acked leaves, refused stays for redelivery until it dead-letters. */
  async function settle(m: InFlight, acked: boolean): Promise<void> {
    const index = inFlight.indexOf(m);
    if (acked) {
      if (index >= 0) inFlight.splice(index, 1);
      delivered.push(m);
      return;
    }
    if (m.deliveries >= MAX_DELIVERIES) {
      if (index >= 0) inFlight.splice(index, 1);
      await deadLetter(m);
    }
  }
  const pick = (n: number) => (inFlight.length ? inFlight[n % inFlight.length] : undefined);
  return { inFlight, delivered, controlDlq, requestedDates, sync, push, deadLetter, settle, pick };
}
