import { PubSub, type Topic } from '@google-cloud/pubsub';
import type { Publisher } from '../ports/publisher.ts';

/** The client honours PUBSUB_EMULATOR_HOST by itself; `emulatorHost` names one explicitly. */
export function createPubSub(projectId: string, emulatorHost?: string): PubSub {
  return emulatorHost
    ? new PubSub({ projectId, apiEndpoint: emulatorHost, emulatorMode: true })
    : new PubSub({ projectId });
}

export function createPubSubPublisher(pubsub: PubSub): Publisher {
  const topics = new Map<string, Topic>();
  return {
    async publish(topicName, message, attributes = {}) {
      let topic = topics.get(topicName);
      if (!topic) {
        // No client-side batching delay: a function's publish should leave before it returns.
        topic = pubsub.topic(topicName, { batching: { maxMessages: 1, maxMilliseconds: 0 } });
        topics.set(topicName, topic);
      }
      return topic.publishMessage({ data: Buffer.from(JSON.stringify(message)), attributes });
    },
  };
}
