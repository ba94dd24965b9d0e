import { describe, expect, it } from 'vitest';
import { runAutoRetryTick } from '../../shared/recovery/auto-retry.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { makeRequestId, TOPICS } from '../../shared/messages/messages.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { pubsubEvent } from '../support/factories.ts';
import { requestsOn, rid, world } from '../support/orchestrator-world.ts';

describe('run generations: a date has one current run', () => {
  const tick = (w: ReturnType<typeof world>) =>
    runAutoRetryTick({
      definition: testDefinition,
      store: w.store,
      publisher: w.publisher,
      clock: w.clock,
      logger: w.logger,
    });
  const stampedBy = (w: ReturnType<typeof world>, runId: string) =>
    ['widgets', 'gadgets', 'summaries'].flatMap((c) => w.store.docs(c)).filter((d) => d.runId === runId);

  it('a retry of an older run is closed as superseded, never re-run: the newer run keeps its documents', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    const [old, current] = [rid('2024-04-21', 'm1'), rid('2024-04-21', 'm2')];
    const oldWidgets = requestsOn(w, 'alpha').find(
      (r) => r.requestId === makeRequestId({ runId: old, phase: 'alpha', processor: 'widgets' }),
    )!;
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm2' }),
    );
    await w.pump();
    expect(await w.store.get(COLLECTIONS.runs, old)).toMatchObject({
      status: 'SUPERSEDED',
      supersededBy: current,
    });
    expect(await w.store.get(COLLECTIONS.runs, current)).toMatchObject({ status: 'SUCCESS' });
    // An entry of the old run, due: the tick closes it, publishes nothing.
    await w.store.set(COLLECTIONS.queue, oldWidgets.requestId, {
      requestId: oldWidgets.requestId,
      status: 'pending',
      errorType: 'transient',
      errorReason: 'dead_lettered',
      lastError: 'boom',
      needsManualFix: false,
      runId: old,
      partition: '2024-04-21',
      phase: 'alpha',
      processor: 'widgets',
      request: oldWidgets,
      failureEventId: null,
      firstFailedAt: '2026-03-01T11:00:00.000Z',
      retryCount: 0,
      nextRetryAt: '2026-03-01T11:00:00.000Z',
      deadlineAt: null,
    });
    const published = w.publisher.published.length;
    expect(await tick(w)).toMatchObject({ retried: 0, superseded: 1 });
    expect(w.publisher.published.length).toBe(published);
    const closed = await w.store.get(COLLECTIONS.queue, oldWidgets.requestId);
    expect(closed).toMatchObject({ status: 'superseded', needsManualFix: false });
    expect(String(closed?.note)).toContain(`superseded by run ${current}`);
    // The old request delivered anyway (a retry already in flight): acked, an event, nothing written.
    await w.phases.alpha!(pubsubEvent({ ...oldWidgets, triggerSource: 'retry' }, { messageId: 'late' }));
    expect(stampedBy(w, old)).toEqual([]);
    expect(
      w.store
        .docs(COLLECTIONS.events)
        .filter((e) => e.type === 'superseded')
        .map((e) => e.requestId),
    ).toEqual([oldWidgets.requestId]);
    expect(await w.store.get(COLLECTIONS.runs, current)).toMatchObject({ status: 'SUCCESS' });
  });

  it('a forced second run mid-run: the old run decides nothing, triggers nothing, and stamps nothing', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual', force: true }, { messageId: 'm2' }),
    );
    // Both runs' requests delivered, twice each, shuffled.
    await w.pump(2);
    const [old, current] = [rid('2024-04-21', 'm1'), rid('2024-04-21', 'm2')];
    expect(await w.store.get(COLLECTIONS.runs, old)).toMatchObject({ status: 'SUPERSEDED' });
    expect(await w.store.get(COLLECTIONS.runs, current)).toMatchObject({ status: 'SUCCESS' });
    expect(requestsOn(w, 'beta').filter((r) => r.requestId.startsWith(old))).toEqual([]);
    expect(stampedBy(w, old)).toEqual([]);
    expect(w.store.docs('widgets').map((d) => d.runId)).toEqual([current, current, current]);
  });

  it('a write of a run superseded while it ran is refused whole, and its attempt is acked as superseded', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    const old = rid('2024-04-21', 'm1');
    const request = requestsOn(w, 'alpha').find(
      (r) => r.requestId === makeRequestId({ runId: old, phase: 'alpha', processor: 'widgets' }),
    )!;
    // The forced run takes the date between the old attempt's start and its first write.
    const original = w.store.transaction.bind(w.store);
    let taken = false;
    w.store.transaction = async (fn) => {
      if (!taken && (await w.store.get(COLLECTIONS.processorRuns, request.requestId))?.status === 'running') {
        taken = true;
        await w.orchestrator.onRunRequest(
          pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual', force: true }, { messageId: 'm2' }),
        );
      }
      return original(fn);
    };
    await w.phases.alpha!(pubsubEvent(request, { messageId: 'r1' }));
    expect(taken).toBe(true);
    expect(stampedBy(w, old)).toEqual([]);
    expect(w.publisher.on(TOPICS.processorCompletions)).toEqual([]);
    expect(w.store.docs(COLLECTIONS.events).find((e) => e.type === 'superseded')?.message).toMatch(
      /^write of run /,
    );
  });
});
