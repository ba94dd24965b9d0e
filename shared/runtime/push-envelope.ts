import { z } from 'zod';
import type { PubSubCloudEvent } from './pubsub-event.ts';

/** The body Pub/Sub POSTs to a push endpoint. */
export const PushEnvelopeSchema = z.object({
  message: z.object({
    data: z.string().optional(),
    attributes: z.record(z.string(), z.string()).optional(),
    messageId: z.string().optional(),
    message_id: z.string().optional(),
    publishTime: z.string().optional(),
  }),
  subscription: z.string().optional(),
  deliveryAttempt: z.number().optional(),
});

/** A push body as the event the handlers take; `path` is `/projects/P/topics/T`, which names the topic. */
export function eventFromPush(body: unknown, path: string): PubSubCloudEvent | null {
  const parsed = PushEnvelopeSchema.safeParse(body);
  if (!parsed.success) return null;
  const { message, subscription } = parsed.data;
  const topic = /\/projects\/[^/]+\/topics\/[^/]+$/.exec(path)?.[0];
  return {
    id: message.messageId ?? message.message_id,
    source: topic ? `//pubsub.googleapis.com${topic}` : undefined,
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    data: { message: { ...message, messageId: message.messageId ?? message.message_id }, subscription },
  };
}
