import { describe, expect, it } from 'vitest';
import { reconcile } from '../../shared/operations/reconciler.ts';
import { checkCompleteness, type CompletenessRules } from '../../shared/operations/completeness.ts';
import { runAutoRetryTick } from '../../shared/recovery/auto-retry.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { makeRequestId, TOPICS } from '../../shared/messages/messages.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { pubsubEvent } from '../support/factories.ts';
import { rid, world } from '../support/orchestrator-world.ts';

describe('run generations: a date has one current run', () => {
  it('an open entry the new run does not cover is re-targeted as a run of its date from its phase and processor', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    const [old, current] = [rid('2024-04-21', 'm1'), rid('2024-04-21', 'm2')];
    // The new run re-runs widgets only; gadgets of the old run still has an open entry (say, a late failure).
    await w.orchestrator.onRunRequest(
      pubsubEvent(
        { partition: '2024-04-21', triggerSource: 'manual', startPhase: 'alpha', processors: ['widgets'] },
        { messageId: 'm2' },
      ),
    );
    const gadgets = makeRequestId({ runId: old, phase: 'alpha', processor: 'gadgets' });
    await w.store.set(COLLECTIONS.queue, gadgets, {
      requestId: gadgets,
      status: 'failed_permanent',
      errorType: 'permanent',
      errorReason: 'permanent',
      lastError: 'gadgets broke',
      needsManualFix: true,
      runId: old,
      partition: '2024-04-21',
      phase: 'alpha',
      processor: 'gadgets',
      request: { runId: old, requestId: gadgets },
      failureEventId: null,
      firstFailedAt: '2026-03-01T11:00:00.000Z',
      retryCount: 1,
      nextRetryAt: null,
      deadlineAt: null,
    });
    // A failed_permanent entry is never due: the reconciler's sweep settles it.
    expect(
      (
        await reconcile({
          definition: testDefinition,
          store: w.store,
          publisher: w.publisher,
          clock: w.clock,
          logger: w.logger,
        })
      ).superseded,
    ).toEqual([gadgets]);
    const closed = await w.store.get(COLLECTIONS.queue, gadgets);
    expect(closed).toMatchObject({ status: 'superseded' });
    expect(String(closed?.note)).toMatch(
      new RegExp(
        `superseded by run ${current}, which does not run alpha/gadgets: re-targeted to run-request-\\w+`,
      ),
    );
    const retargeted = w.store
      .docs(COLLECTIONS.queue)
      .find((e) => e.requestId !== gadgets && e.status === 'pending');
    expect(retargeted).toMatchObject({
      runId: null,
      partition: '2024-04-21',
      processor: 'gadgets',
      retryCount: 1,
      lastError: 'gadgets broke',
      retryTarget: {
        topic: TOPICS.runRequests,
        message: {
          partition: '2024-04-21',
          triggerSource: 'retry',
          startPhase: 'alpha',
          processors: ['gadgets'],
        },
      },
    });
    await w.pump();
    w.clock.advance(60_000);
    expect(
      (
        await runAutoRetryTick({
          definition: testDefinition,
          store: w.store,
          publisher: w.publisher,
          clock: w.clock,
          logger: w.logger,
        })
      ).retried,
    ).toBe(1);
    const request = w.publisher.published.at(-1)!;
    expect(request.topic).toBe(TOPICS.runRequests);
    await w.orchestrator.onRunRequest(pubsubEvent(request.message, { messageId: 'm3' }));
    await w.pump();
    expect(await w.store.get(COLLECTIONS.queue, String(retargeted?.requestId))).toMatchObject({
      status: 'succeeded',
    });
    expect(await w.store.get(COLLECTIONS.runs, rid('2024-04-21', 'm3'))).toMatchObject({
      status: 'SUCCESS',
      phases: { alpha: { expected: ['gadgets'] } },
    });
  });

  it('completeness never enqueues a re-run against a run still RUNNING; it says which run will decide', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    const rules: CompletenessRules = {
      partitions: () => Promise.resolve(['2024-04-21']),
      expectedDocs: (partition) =>
        Promise.resolve(
          [0, 1, 2].map((i) => ({
            phase: 'alpha',
            processor: 'widgets',
            collection: 'widgets',
            id: `${partition}_${i}`,
            unit: String(i),
          })),
        ),
    };
    const report = await checkCompleteness(
      { definition: testDefinition, rules, store: w.store, clock: w.clock },
      { from: '2024-04-21', to: '2024-04-21', enqueue: true },
    );
    expect(report.enqueued).toEqual([]);
    expect(report.deferred).toEqual([
      {
        partition: '2024-04-21',
        phase: 'alpha',
        processor: 'widgets',
        runId: rid('2024-04-21', 'm1'),
        reason: `run ${rid('2024-04-21', 'm1')} is still RUNNING (its gate decides)`,
      },
    ]);
    expect(w.store.docs(COLLECTIONS.queue)).toEqual([]);
    await w.pump();
    expect(await w.store.get(COLLECTIONS.runs, rid('2024-04-21', 'm1'))).toMatchObject({ status: 'SUCCESS' });
  });
});
