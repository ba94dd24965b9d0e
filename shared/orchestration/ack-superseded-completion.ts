import type { ProcessorCompleted } from '../messages/messages.ts';
import type { Logger } from '../ports/logger.ts';
import { supersedeEntries } from '../recovery/supersede.ts';
import { recordSuperseded } from './generation.ts';
import type { OrchestratorDeps } from './orchestrator.ts';

/** A completion of a superseded run: an event, its entries closed or re-targeted, nothing decided. */
export async function ackSupersededCompletion(
  deps: OrchestratorDeps,
  outcome: ProcessorCompleted,
  currentRunId: string,
  logger: Logger,
): Promise<void> {
  const at = deps.clock.now().toISOString();
  await recordSuperseded(deps.store, {
    what: 'completion',
    runId: outcome.runId,
    currentRunId,
    partition: outcome.partition,
    phase: outcome.phase,
    requestId: outcome.requestId,
    processor: outcome.processor,
    traceparent: outcome.traceparent,
    at,
  });
  await supersedeEntries(deps.store, [outcome.requestId, `completion-${outcome.requestId}`], at);
  logger.info({ currentRunId }, 'completion of a superseded run: recorded as history, nothing decided');
}
