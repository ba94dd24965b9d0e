import type { PubSub } from '@google-cloud/pubsub';
import { createHeldPeek } from '../../shared/adapters/pubsub-held.ts';
import { createPubSub } from '../../shared/adapters/pubsub-publisher.ts';
import { CONTROL_DLQ_SUBSCRIPTION } from '../../shared/messages/messages.ts';
import type { HeldMessages } from '../../shared/ports/held-messages.ts';

/** One peek of control-dlq (the emulator's, with PUBSUB_EMULATOR_HOST, or the project's); nothing is consumed. */
export async function peekControlDlq(from: string | PubSub): Promise<HeldMessages> {
  const pubsub = typeof from === 'string' ? createPubSub(from) : from;
  const peek = createHeldPeek(pubsub, CONTROL_DLQ_SUBSCRIPTION);
  try {
    return await peek();
  } finally {
    await peek.close();
    // A client passed in is the caller's to close.
    if (typeof from === 'string') await pubsub.close();
  }
}
