import { v1, type PubSub } from '@google-cloud/pubsub';
import type { HeldMessages, PeekHeld } from '../ports/held-messages.ts';

const timestampIso = (t: { seconds?: unknown; nanos?: unknown } | null | undefined): string =>
  new Date(Number(t?.seconds ?? 0) * 1000 + Math.floor(Number(t?.nanos ?? 0) / 1e6)).toISOString();

/**
 * Peeks a pull subscription: pulls at most `max` messages and hands each back at once
 * (modifyAckDeadline 0), so nothing is consumed. The client comes from the PubSub's own
 * configuration: the emulator (PUBSUB_EMULATOR_HOST) or Google Cloud. `returnImmediately`
 * keeps an empty subscription from holding the caller for the pull's long poll.
 */
export function createHeldPeek(
  pubsub: PubSub,
  subscription: string,
  max = 100,
): PeekHeld & { close(): Promise<void> } {
  let client: v1.SubscriberClient | undefined;
  const peek = async (): Promise<HeldMessages> => {
    const config = await pubsub.getClientConfig();
    client ??= new v1.SubscriberClient({
      ...config,
      port: config.port === undefined ? undefined : Number(config.port),
    });
    const name = `projects/${pubsub.projectId}/subscriptions/${subscription}`;
    const [response] = await client.pull(
      { subscription: name, maxMessages: max, returnImmediately: true },
      { timeout: 10_000 },
    );
    const received = response.receivedMessages ?? [];
    const ackIds = received.flatMap((m) => (m.ackId ? [m.ackId] : []));
    if (ackIds.length > 0)
      await client.modifyAckDeadline({ subscription: name, ackIds, ackDeadlineSeconds: 0 });
    const messages = received.map((m) => ({
      messageId: m.message?.messageId ?? '',
      publishTime: timestampIso(m.message?.publishTime as { seconds?: unknown; nanos?: unknown } | null),
      sourceSubscription: m.message?.attributes?.CloudPubSubDeadLetterSourceSubscription ?? null,
      bytes: m.message?.data ? Buffer.byteLength(m.message.data) : 0,
    }));
    const oldest = messages.sort((a, b) => a.publishTime.localeCompare(b.publishTime))[0] ?? null;
    return { subscription, count: messages.length, atLeast: messages.length >= max, oldest };
  };
  return Object.assign(peek, { close: async () => void (await client?.close()) });
}
