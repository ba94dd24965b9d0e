import type { ProcessorRequest } from '../messages/messages.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { DocumentStore } from '../ports/store.ts';
import { recordSuperseded } from '../orchestration/generation.ts';
import { supersedeEntries } from '../recovery/supersede.ts';

/**
 * A request (or a write) of a run a newer one of its partition replaced: one event, its open
 * queue entry closed as superseded, then acked without running. Re-running it would only write
 * what the current run overwrites; the current run decides the partition.
 */
export async function ackSuperseded(
  deps: { store: DocumentStore; clock: Clock; logger: Logger },
  request: ProcessorRequest,
  currentRunId: string,
  what: 'request' | 'write',
): Promise<void> {
  const at = deps.clock.now().toISOString();
  await recordSuperseded(deps.store, {
    what,
    runId: request.runId,
    currentRunId,
    partition: request.partition,
    phase: request.phase,
    requestId: request.requestId,
    processor: request.processor,
    traceparent: request.traceparent,
    at,
  });
  await supersedeEntries(deps.store, [request.requestId], at);
  deps.logger.info(
    { runId: request.runId, requestId: request.requestId, currentRunId },
    `${what} of superseded run ${request.runId}: acked without running (run ${currentRunId} is current)`,
  );
}
