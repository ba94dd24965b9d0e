import { describe, expect, it } from 'vitest';
import { phaseTopic, TOPICS } from '../../shared/messages/messages.ts';
import { heldCounts, pausePipeline, resumePipeline } from '../../shared/operations/pause.ts';
import { reconcile } from '../../shared/operations/reconciler.ts';
import { holdRunRequest } from '../../shared/orchestration/held-run-requests.ts';
import { runAutoRetryTick } from '../../shared/recovery/auto-retry.ts';
import { retryNow } from '../../shared/recovery/queue-actions.ts';
import { pumpDependencies } from '../../shared/orchestration/dependencies/pump-dependencies.ts';
import { detectStalls } from '../../shared/operations/stall-redrive.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { pubsubEvent } from '../support/factories.ts';
import { rid, world } from '../support/orchestrator-world.ts';
import { seedEntry, setup } from '../support/recovery-setup.ts';

const operator = { by: 'cli:ops', note: 'maintenance' };

describe('a pause', () => {
  it('retries nothing from the queue until the resume: no tick, no dependency pump, no `queue retry`', async () => {
    const d = setup();
    const due = await seedEntry(d.store);
    await pausePipeline(d, operator);
    expect(await runAutoRetryTick(d)).toEqual({ retried: 0, exhausted: 0, expired: 0, superseded: 0 });
    expect(await pumpDependencies(d)).toEqual({ started: [], done: [], failed: [], resumed: [] });
    await expect(retryNow(d, due.requestId, 'now')).rejects.toThrow(/the pipeline is paused/);
    expect(await detectStalls(d, d.clock.now())).toEqual([]);
    expect(await d.store.get(COLLECTIONS.queue, due.requestId)).toMatchObject({ status: 'pending' });
    await resumePipeline(d, operator);
    expect((await runAutoRetryTick(d)).retried).toBe(1);
  });

  it('holds a run request and the triggers of a run that started before it; resume releases both, in order', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await pausePipeline(w, operator);
    // The run started before the pause: its alpha requests were sent; what they decide is held.
    await w.pump();
    expect(await w.store.get(COLLECTIONS.runs, rid('2024-04-21', 'm1'))).toMatchObject({ status: 'RUNNING' });
    expect(w.publisher.on(phaseTopic('beta'))).toEqual([]);
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-22', triggerSource: 'manual' }, { messageId: 'm2' }),
    );
    expect(await w.store.get(COLLECTIONS.runs, rid('2024-04-22', 'm2'))).toBeUndefined();
    expect(await heldCounts(w.store)).toEqual({ runRequests: 1, triggers: 1 });
    // A tick while paused sends nothing either.
    w.clock.advance(60_000);
    const tick = await reconcile({ ...w, definition: testDefinition });
    expect(tick).toMatchObject({ outboxResent: 0, released: 0 });
    const { released } = await resumePipeline(w, operator);
    expect(released).toEqual({ runRequests: 1, triggers: 1 });
    const runRequests = w.publisher.on(TOPICS.runRequests) as { partition: string }[];
    expect(runRequests.map((r) => r.partition)).toEqual(['2024-04-22']);
    expect(w.publisher.on(phaseTopic('beta'))).toHaveLength(1);
    // Published twice (a resume and a tick at once): one run, the one of the message held.
    const [released2] = w.publisher.published.filter((p) => p.topic === TOPICS.runRequests);
    await w.publisher.publish(TOPICS.runRequests, released2!.message, released2!.attributes);
    await w.pumpAll();
    expect(await w.store.get(COLLECTIONS.runs, rid('2024-04-21', 'm1'))).toMatchObject({ status: 'SUCCESS' });
    const runsOf22 = w.store.docs(COLLECTIONS.runs).filter((r) => r.partition === '2024-04-22');
    expect(runsOf22.map((r) => [r.requestMessageId, r.status])).toEqual([['m2', 'SUCCESS']]);
    expect(await heldCounts(w.store)).toEqual({ runRequests: 0, triggers: 0 });
  });

  it('a resume releases only what was held: a trigger decided after it is left to its own sender', async () => {
    const w = world();
    await pausePipeline(w, operator);
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-24', triggerSource: 'manual' }, { messageId: 'm3' }),
    );
    // As on the emulators: the released request's run starts at once and decides its first
    // phase's triggers while the resume is still releasing; its sender has not sent them yet.
    const publish = w.publisher.publish.bind(w.publisher);
    w.publisher.publish = async (topic, message, attributes) => {
      const id = await publish(topic, message, attributes);
      if (topic !== TOPICS.runRequests) return id;
      w.clock.advance(1000);
      await w.store.set(COLLECTIONS.outbox, 'fresh', {
        id: 'fresh',
        decisionId: 'run-x_alpha',
        runId: 'run-x',
        topic: phaseTopic('alpha'),
        message: {},
        attributes: {},
        status: 'pending',
        createdAt: w.clock.now().toISOString(),
        sentAt: null,
        sender: 'its-own-message',
      });
      return id;
    };
    const { released } = await resumePipeline(w, operator);
    expect(released).toEqual({ runRequests: 1, triggers: 0 });
    expect(await w.store.get(COLLECTIONS.outbox, 'fresh')).toMatchObject({ status: 'pending' });
    expect(w.publisher.on(phaseTopic('alpha'))).toEqual([]);
  });

  it('a resume that died before releasing: the next reconcile tick releases the held run requests', async () => {
    const w = world();
    await holdRunRequest(
      w.store,
      {
        messageId: 'm9',
        json: { partition: '2024-04-23', triggerSource: 'manual' },
        attributes: {},
        partition: '2024-04-23',
      },
      w.clock.now(),
    );
    // Not paused (the resume cleared the flag, then its process died).
    const tick = await reconcile({ ...w, definition: testDefinition });
    expect(tick.released).toBe(1);
    expect(w.publisher.on(TOPICS.runRequests)).toEqual([
      { partition: '2024-04-23', triggerSource: 'manual' },
    ]);
    expect(await heldCounts(w.store)).toEqual({ runRequests: 0, triggers: 0 });
  });
});
