import { describe, expect, it } from 'vitest';
import { phaseTopic, TOPICS, type ProcessorCompleted } from '../../shared/messages/messages.ts';
import { reconcile } from '../../shared/operations/reconciler.ts';
import { recordOnPhase } from '../../shared/orchestration/phase-completions.ts';
import { phaseDecisionId } from '../../shared/orchestration/run-doc.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { pubsubEvent } from '../support/factories.ts';
import { rid, world } from '../support/orchestrator-world.ts';

/**
 * A run whose last completion of beta was recorded and claimed the decision, and whose delivery then
 * died for good: nothing else of beta is coming, so only the stall re-drive can have it decided.
 */
async function decisionDiedWithItsClaim(options: { dropStoredCompletion?: boolean } = {}) {
  const w = world();
  const { deliver } = w;
  await w.orchestrator.onRunRequest(
    pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
  );
  await deliver(phaseTopic('alpha'));
  await deliver(TOPICS.processorCompletions);
  await deliver(phaseTopic('beta'));
  const runId = rid('2024-04-21', 'm1');
  // The last completion published (summary's): lost on the way.
  const lost = w.publisher.published.filter((m) => m.topic === TOPICS.processorCompletions).at(-1);
  const completion = lost!.message as ProcessorCompleted;
  w.lose(lost);
  // What its delivery did before it died: recorded the completion and claimed the decision.
  await recordOnPhase(w.store, completion);
  const decisionId = phaseDecisionId(runId, 'beta');
  await w.store.set(COLLECTIONS.decisionClaims, decisionId, {
    decisionId,
    owner: completion.requestId,
    at: w.clock.now().toISOString(),
  });
  if (options.dropStoredCompletion)
    await w.store.set(COLLECTIONS.processorRuns, completion.requestId, { completion: null }, { merge: true });
  w.clock.advance(10 * 60_000);
  const tick = await reconcile({
    definition: testDefinition,
    store: w.store,
    publisher: w.publisher,
    clock: w.clock,
    logger: w.logger,
  });
  return { w, runId, decisionId, completion, tick, deliver };
}

const stalledEvents = async (w: ReturnType<typeof world>, runId: string) =>
  (
    await w.store.query(COLLECTIONS.events, {
      filters: [
        { field: 'runId', op: '==', value: runId },
        { field: 'type', op: '==', value: 'stalled' },
      ],
    })
  ).map((e) => e.data);

describe('a stalled phase that lacks only its decision', () => {
  it('gets the claim owner’s stored completion re-delivered, and the gate decides it on the data', async () => {
    const { w, runId, decisionId, completion, tick, deliver } = await decisionDiedWithItsClaim();
    expect(tick.stalled).toEqual([decisionId]);
    const redelivered = w.publisher.published.filter(
      (m) => m.topic === TOPICS.processorCompletions && m.attributes?.redrive === 'stall',
    );
    expect(redelivered.map((m) => m.message)).toEqual([completion]);
    expect(await stalledEvents(w, runId)).toEqual([
      expect.objectContaining({
        missing: [],
        message: expect.stringContaining(
          'waiting for its gate decision: re-delivered the completion of summary',
        ) as string,
      }),
    ]);
    await deliver(TOPICS.processorCompletions);
    expect(await w.store.get(COLLECTIONS.runPhases, decisionId)).toMatchObject({ status: 'gate_passed' });
    expect(await w.store.get(COLLECTIONS.runs, runId)).toMatchObject({ status: 'SUCCESS' });
  });

  it('says a person must look when no completion is stored to re-deliver, and publishes nothing', async () => {
    const { w, runId, tick } = await decisionDiedWithItsClaim({ dropStoredCompletion: true });
    expect(tick.stalled).toHaveLength(1);
    expect(w.publisher.published.filter((m) => m.attributes?.redrive === 'stall')).toEqual([]);
    expect(await stalledEvents(w, runId)).toEqual([
      expect.objectContaining({ message: expect.stringContaining('a person must look') as string }),
    ]);
    expect(await w.store.get(COLLECTIONS.runs, runId)).toMatchObject({ status: 'RUNNING' });
  });
});
