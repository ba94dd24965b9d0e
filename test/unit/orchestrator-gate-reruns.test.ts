import { describe, expect, it } from 'vitest';
import { actionNeeded } from '../../shared/recovery/queue-policy.ts';
import { runAutoRetryTick } from '../../shared/recovery/auto-retry.ts';
import type { Alert } from '../../shared/recovery/notifier.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { makeRequestId, phaseTopic, TOPICS } from '../../shared/messages/messages.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { pubsubEvent } from '../support/factories.ts';
import { rid, world } from '../support/orchestrator-world.ts';

describe('a gate that keeps failing after re-runs', () => {
  it('never closes the entry as recovered: each short re-run counts, and past maxRetries it needs a person, with an alert', async () => {
    const alerts: Alert[] = [];
    const w = world({ notifier: (a) => Promise.resolve(void alerts.push(a)) });
    // 1997-xx-xx: widgets always writes 2 of the 3 documents the date needs.
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '1997-05-01', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    const runId = rid('1997-05-01', 'm1');
    const entryId = makeRequestId({ runId, phase: 'alpha', processor: 'widgets' });
    const statuses: string[] = [];
    for (let round = 0; round < testDefinition.queue.maxRetries + 2; round++) {
      statuses.push(String((await w.store.get(COLLECTIONS.queue, entryId))?.status));
      w.clock.advance(3_600_000);
      await runAutoRetryTick({
        definition: testDefinition,
        store: w.store,
        publisher: w.publisher,
        clock: w.clock,
        logger: w.logger,
        notifier: (a) => Promise.resolve(void alerts.push(a)),
      });
      await w.pump();
    }
    expect(statuses).not.toContain('succeeded');
    const entry = await w.store.get(COLLECTIONS.queue, entryId);
    expect(entry).toMatchObject({
      status: 'failed_permanent',
      needsManualFix: true,
      retryCount: testDefinition.queue.maxRetries,
    });
    expect(String(entry?.lastError)).toMatch(
      /^gate still failing after 3 re-runs: widgets \(partition\) expected 3, found 2/,
    );
    expect(alerts.filter((a) => a.kind === 'failed_permanent').map((a) => a.processor)).toEqual(['widgets']);
    expect((await w.store.get(COLLECTIONS.runs, runId))?.status).not.toBe('SUCCESS');
  });

  it('a re-run that completed while a sibling is still open waits for the gate: not re-claimed, closed when the gate passes', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    const runId = rid('2024-04-21', 'm1');
    const [widgets, gadgets] = ['widgets', 'gadgets'].map((p) =>
      w.publisher.published.find(
        (m) => m.topic === phaseTopic('alpha') && (m.message as { processor: string }).processor === p,
      )!,
    );
    const entryId = makeRequestId({ runId, phase: 'alpha', processor: 'widgets' });
    // widgets had dead-lettered and the auto-retry has claimed its entry: its re-run is in flight.
    await w.store.set(COLLECTIONS.queue, entryId, {
      requestId: entryId,
      status: 'retrying',
      errorType: 'transient',
      errorReason: 'dead_lettered',
      lastError: 'boom',
      needsManualFix: false,
      runId,
      partition: '2024-04-21',
      phase: 'alpha',
      processor: 'widgets',
      request: widgets!.message,
      failureEventId: null,
      firstFailedAt: '2026-03-01T11:00:00.000Z',
      retryCount: 1,
      nextRetryAt: '2026-03-01T12:30:00.000Z',
      deadlineAt: null,
      lastClaim: 'retry',
    });
    const deliver = async (m: (typeof w.publisher.published)[number]) =>
      w.phases.alpha!(
        pubsubEvent({ ...(m.message as object), triggerSource: 'retry' }, { messageId: m.messageId }),
      );
    await deliver(widgets!);
    for (const c of w.publisher.on(TOPICS.processorCompletions))
      await w.orchestrator.onProcessorOutcome(pubsubEvent(c, { messageId: 'c1' }));
    expect(await w.store.get(COLLECTIONS.queue, entryId)).toMatchObject({
      status: 'retrying',
      awaitingGate: true,
      nextRetryAt: null,
    });
    expect(actionNeeded('retrying', 'dead_lettered', true)).toBe('Re-run done, waiting for the gate');
    // Hours later the sibling is still open: no tick re-runs widgets or spends its retries.
    const published = w.publisher.published.length;
    w.clock.advance(3 * 3_600_000);
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
    ).toBe(0);
    expect(w.publisher.published.length).toBe(published);
    await deliver(gadgets!);
    const completions = w.publisher.on(TOPICS.processorCompletions);
    await w.orchestrator.onProcessorOutcome(pubsubEvent(completions.at(-1), { messageId: 'c2' }));
    expect(await w.store.get(COLLECTIONS.queue, entryId)).toMatchObject({
      status: 'succeeded',
      retryCount: 1,
    });
  });

  it('closes the entry only when the phase passes its gate in the run', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '1994-05-01', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    const runId = rid('1994-05-01', 'm1');
    const entryId = makeRequestId({ runId, phase: 'alpha', processor: 'widgets' });
    expect(await w.store.get(COLLECTIONS.queue, entryId)).toMatchObject({ status: 'waiting' });
    await w.store.set('source_published', '1994-05-01', { at: 'now' });
    // Past the source's cadence (2 s here), well before its deadline.
    w.clock.advance(10_000);
    await runAutoRetryTick({
      definition: testDefinition,
      store: w.store,
      publisher: w.publisher,
      clock: w.clock,
      logger: w.logger,
    });
    await w.pump();
    expect(await w.store.get(COLLECTIONS.queue, entryId)).toMatchObject({ status: 'succeeded' });
    expect((await w.store.get(COLLECTIONS.runs, runId))?.status).toBe('SUCCESS');
  });
});
