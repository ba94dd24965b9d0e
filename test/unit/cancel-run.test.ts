import { describe, expect, it } from 'vitest';
import { phaseTopic, TOPICS } from '../../shared/messages/messages.ts';
import { cancelRun } from '../../shared/operations/cancel-run.ts';
import { phaseDecisionId } from '../../shared/orchestration/run-doc.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { makeQueueEntry, pubsubEvent } from '../support/factories.ts';
import { rid, world } from '../support/orchestrator-world.ts';

const operator = { by: 'cli:ops', note: 'wrong season loaded' };

describe('cancelling a run', () => {
  it('triggers no further phase: completions of its running processors are recorded, nothing more is decided', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    const runId = rid('2024-04-21', 'm1');
    // Alpha's requests are out; the run is cancelled before they are delivered.
    const outcome = await cancelRun(w, runId, operator);
    expect(outcome).toMatchObject({ cancelled: true, status: 'CANCELLED' });
    await w.pumpAll();
    expect(w.publisher.on(phaseTopic('beta'))).toEqual([]);
    // Requests delivered after the cancel start nothing.
    expect(w.store.docs(COLLECTIONS.processorRuns)).toEqual([]);
    const run = await w.store.get(COLLECTIONS.runs, runId);
    expect(run).toMatchObject({ status: 'CANCELLED', cancelled: { by: 'cli:ops', note: operator.note } });
    expect((run as { statusHistory: { reason: string }[] }).statusHistory.at(-1)?.reason).toBe(
      'cancelled by cli:ops: wrong season loaded',
    );
    expect(w.store.docs(COLLECTIONS.events).filter((e) => e.type === 'run_cancelled')).toHaveLength(1);
    // Again: it has ended, nothing changes.
    expect(await cancelRun(w, runId, operator)).toMatchObject({ cancelled: false, status: 'CANCELLED' });
    // The partition runs again when triggered; the cancelled run stays CANCELLED.
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm2' }),
    );
    await w.pumpAll();
    expect(await w.store.get(COLLECTIONS.runs, rid('2024-04-21', 'm2'))).toMatchObject({ status: 'SUCCESS' });
    expect(await w.store.get(COLLECTIONS.runs, runId)).toMatchObject({ status: 'CANCELLED' });
  });

  it('a completion that arrives after the cancel is recorded, and its phase decides nothing', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    const runId = rid('2024-04-21', 'm1');
    // The processors ran before the cancel; their completions are delivered after it.
    for (const m of w.publisher.published.filter((p) => p.topic === phaseTopic('alpha')))
      await w.phases.alpha!(pubsubEvent(m.message, { messageId: m.messageId }));
    await cancelRun(w, runId, operator);
    for (const m of w.publisher.published.filter((p) => p.topic === TOPICS.processorCompletions))
      await w.orchestrator.onProcessorOutcome(pubsubEvent(m.message, { messageId: m.messageId }));
    const phase = await w.store.get(COLLECTIONS.runPhases, phaseDecisionId(runId, 'alpha'));
    expect(Object.keys((phase as { completed: object }).completed).sort()).toEqual(['gadgets', 'widgets']);
    expect(phase).toMatchObject({ status: 'running' });
    expect(w.publisher.on(phaseTopic('beta'))).toEqual([]);
    expect(w.store.docs('widgets').length).toBeGreaterThan(0);
  });

  it('closes its open queue entries as cancelled and withdraws its pending triggers; refuses an unknown run', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    const runId = rid('2024-04-21', 'm1');
    await w.store.set(
      COLLECTIONS.queue,
      `${runId}--alpha--widgets`,
      makeQueueEntry({
        requestId: `${runId}--alpha--widgets`,
        runId,
        partition: '2024-04-21',
        phase: 'alpha',
        processor: 'widgets',
      }),
    );
    await w.store.set(COLLECTIONS.outbox, 'pending-trigger', {
      id: 'pending-trigger',
      decisionId: `${runId}_alpha`,
      runId,
      topic: phaseTopic('beta'),
      message: {},
      attributes: {},
      status: 'pending',
      createdAt: w.clock.now().toISOString(),
      sentAt: null,
    });
    const outcome = await cancelRun(w, runId, operator);
    expect(outcome).toMatchObject({ closedEntries: [`${runId}--alpha--widgets`], withdrawnTriggers: 1 });
    expect(await w.store.get(COLLECTIONS.queue, `${runId}--alpha--widgets`)).toMatchObject({
      status: 'cancelled',
      nextRetryAt: null,
      note: 'run cancelled: wrong season loaded',
    });
    expect(await w.store.get(COLLECTIONS.outbox, 'pending-trigger')).toMatchObject({ status: 'withdrawn' });
    await expect(cancelRun(w, 'nope', operator)).rejects.toThrow('no run "nope"');
  });
});
