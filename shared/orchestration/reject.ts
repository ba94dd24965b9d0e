import { recordRejection } from '../runtime/reject-message.ts';
import { messageIdOf, type PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import type { OrchestratorDeps } from './orchestrator.ts';

/** A message the orchestrator cannot act on: recorded as failed_permanent (NEEDS MANUAL FIX), then acked. */
export async function rejectOrchestratorMessage(
  deps: OrchestratorDeps,
  event: PubSubCloudEvent,
  error: unknown,
  partition: string | null = null,
): Promise<void> {
  const { described } = await recordRejection(deps.store, {
    event,
    error,
    phase: 'orchestrator',
    request: null,
    partition,
    now: deps.clock.now(),
  });
  deps.logger.error(
    { messageId: messageIdOf(event), err: described.message },
    'orchestrator message rejected: recorded as failed_permanent, acking',
  );
}
