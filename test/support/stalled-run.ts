import { newRunDoc, phaseDecisionId, type RunDoc } from '../../shared/orchestration/run-doc.ts';
import type { DocumentStore } from '../../shared/ports/store.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';

/**
 * A run of the test pipeline whose alpha requests were lost ten minutes ago (expected duration:
 * 60 s): its phase is RUNNING with nothing completed, so the next reconcile tick re-drives it.
 */
export async function seedStalledRun(
  store: DocumentStore,
  ids: { runId: string; partition: string },
): Promise<RunDoc> {
  const startedAt = new Date(Date.now() - 600_000).toISOString();
  const run = newRunDoc({
    definition: testDefinition,
    requestMessageId: 'lost',
    runId: ids.runId,
    partition: ids.partition,
    triggerSource: 'manual',
    requestedBy: null,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    startPhase: 'alpha',
    processors: ['widgets', 'gadgets'],
    now: startedAt,
  });
  await store.set(COLLECTIONS.runs, run.runId, { ...run });
  await store.set(COLLECTIONS.runPhases, phaseDecisionId(run.runId, 'alpha'), {
    runId: run.runId,
    phase: 'alpha',
    partition: run.partition,
    expected: ['widgets', 'gadgets'],
    status: 'running',
    startedAt,
    decidedAt: null,
    gate: null,
  });
  return run;
}
