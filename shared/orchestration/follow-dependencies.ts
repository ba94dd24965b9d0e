import { decodeBase64Json } from '../messages/decode.ts';
import { ProcessorOutcomeSchema } from '../messages/messages.ts';
import { readEntryOrPassOver } from '../recovery/queue-entry.ts';
import type { PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import { pumpDependencies } from './dependencies/pump-dependencies.ts';
import { requestDependencies } from './dependencies/request-dependencies.ts';
import type { OrchestratorDeps } from './orchestrator.ts';
import { readRunOrPassOver } from './run-doc.ts';

/**
 * With `dependencies: 'trigger'`, after an outcome is recorded: a wait for earlier partitions
 * asks for them, and a run that ended lets the next ones start (and its waiters resume). A
 * failure to record the request answers 5xx (the redelivery records nothing twice and asks
 * again); a failure of the pump is only logged (pumpQuietly).
 */
export async function followDependencies(deps: OrchestratorDeps, event: PubSubCloudEvent): Promise<void> {
  const outcome = ProcessorOutcomeSchema.safeParse(decodeBase64JsonOrNull(event));
  if (!outcome.success) return;
  if ('outcome' in outcome.data && outcome.data.outcome === 'waiting') {
    const entry = await readEntryOrPassOver(deps.store, outcome.data.requestId);
    if (entry?.status !== 'waiting' || entry.errorReason !== 'earlier_partitions_missing') return;
    // Runs are started for a run that waits: a request published by hand outside any run (or of a
    // superseded one) waits as with 'wait', and starts nothing that would supersede it.
    const waitingRun = entry.runId ? await readRunOrPassOver(deps.store, entry.runId) : undefined;
    if (!waitingRun || waitingRun.supersededBy) return;
    await requestDependencies(deps, entry);
    await pumpQuietly(deps);
    return;
  }
  const run = await readRunOrPassOver(deps.store, outcome.data.runId);
  if (run && run.status !== 'RUNNING') await pumpQuietly(deps);
}

/**
 * The pump is global: its failure is logged, not answered 5xx (the outcome is recorded, and a
 * redelivery would not cure a pump problem but could dead-letter the outcome); the reconciler
 * pumps again every tick.
 */
async function pumpQuietly(deps: OrchestratorDeps): Promise<void> {
  try {
    await pumpDependencies(deps);
  } catch (error) {
    deps.logger.error(
      { err: error instanceof Error ? error.message : String(error) },
      'partition dependency pump failed; the reconciler pumps again',
    );
  }
}

function decodeBase64JsonOrNull(event: PubSubCloudEvent): unknown {
  try {
    return decodeBase64Json(event.data?.message?.data, 'processor outcome');
  } catch {
    return null;
  }
}
