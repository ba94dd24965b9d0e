import { describe, expect, it } from 'vitest';
import { phaseTopic } from '../../shared/messages/messages.ts';
import { runAutoRetryTick } from '../../shared/recovery/auto-retry.ts';
import { createDlqRecorder } from '../../shared/recovery/dlq-recorder.ts';
import { nextRetryDelayMs } from '../../shared/recovery/queue-policy.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { pubsubEvent } from '../support/factories.ts';
import { seedEntry, setup } from '../support/recovery-setup.ts';

describe('auto-retry tick', () => {
  it('re-publishes due entries as retries, marks them retrying with an event linked to the failure', async () => {
    const d = setup();
    const due = await seedEntry(d.store);
    await seedEntry(d.store, { nextRetryAt: '2026-03-01T13:00:00.000Z' });
    await seedEntry(d.store, { status: 'failed_permanent', nextRetryAt: null });
    const result = await runAutoRetryTick(d);
    expect(result).toEqual({ retried: 1, exhausted: 0, expired: 0, superseded: 0 });
    const published = d.publisher.on(phaseTopic('alpha')) as {
      requestId: string;
      triggerSource: string;
      parentEventId: string;
    }[];
    expect(published).toEqual([
      expect.objectContaining({ requestId: due.requestId, triggerSource: 'retry' }),
    ]);
    const entry = await d.store.get(COLLECTIONS.queue, due.requestId);
    expect(entry).toMatchObject({ status: 'retrying', retryCount: 1 });
    const event = d.store.docs(COLLECTIONS.events).find((e) => e.type === 'retry_started')!;
    expect(event).toMatchObject({ parentEventId: due.failureEventId, from: 'pending', to: 'retrying' });
    expect(published[0]!.parentEventId).toBe(event.eventId);
  });

  it('gives up after maxRetries: failed_permanent, NEEDS MANUAL FIX, one alert', async () => {
    const d = setup();
    const entry = await seedEntry(d.store, { retryCount: 3 });
    expect(await runAutoRetryTick(d)).toEqual({ retried: 0, exhausted: 1, expired: 0, superseded: 0 });
    expect(await d.store.get(COLLECTIONS.queue, entry.requestId)).toMatchObject({
      status: 'failed_permanent',
      needsManualFix: true,
      lastError: 'gave up after 3 automatic retries: boom',
    });
    expect(d.alerts).toHaveLength(1);
    expect(d.publisher.published).toHaveLength(0);
  });

  it('retries waiting entries on the source cadence past maxRetries, until the deadline', async () => {
    const d = setup();
    const waiting = await seedEntry(d.store, {
      status: 'waiting',
      errorType: 'not_ready',
      retryCount: 7,
      deadlineAt: '2026-03-02T00:00:00.000Z',
    });
    expect((await runAutoRetryTick(d)).retried).toBe(1);
    const expired = await seedEntry(d.store, {
      status: 'waiting',
      errorType: 'not_ready',
      deadlineAt: '2026-03-01T11:00:00.000Z',
    });
    expect((await runAutoRetryTick(d)).expired).toBe(1);
    expect(await d.store.get(COLLECTIONS.queue, expired.requestId)).toMatchObject({
      status: 'failed_permanent',
    });
    // A source check is not a retry: the retry budget stays where it was.
    expect(await d.store.get(COLLECTIONS.queue, waiting.requestId)).toMatchObject({
      status: 'retrying',
      retryCount: 7,
      waitChecks: 1,
      lastClaim: 'source_check',
    });
  });

  it('a source late for many ticks, then one transient failure: the failure still gets its retries', async () => {
    const d = setup();
    const waiting = await seedEntry(d.store, {
      status: 'waiting',
      errorType: 'not_ready',
      errorReason: 'source_not_ready',
      deadlineAt: '2026-03-02T00:00:00.000Z',
    });
    for (let tick = 0; tick < 6; tick++) {
      expect((await runAutoRetryTick(d)).retried).toBe(1);
      // The processor finds the source still not ready: back to waiting (as handle-failure writes it).
      await d.store.set(
        COLLECTIONS.queue,
        waiting.requestId,
        { status: 'waiting', nextRetryAt: d.clock.now().toISOString() },
        { merge: true },
      );
      d.clock.advance(1000);
    }
    expect(await d.store.get(COLLECTIONS.queue, waiting.requestId)).toMatchObject({
      retryCount: 0,
      waitChecks: 6,
    });
    // The source is there now, but the write fails until the message dead-letters.
    await d.store.set(COLLECTIONS.queue, waiting.requestId, { status: 'retrying' }, { merge: true });
    const letter = pubsubEvent(waiting.request, { messageId: 'dl-1' });
    letter.data!.message!.attributes = {
      CloudPubSubDeadLetterSourceDeliveryCount: '5',
      CloudPubSubDeadLetterSourceSubscription: 'projects/p/subscriptions/phase-alpha-sub',
    };
    await createDlqRecorder(d)(letter);
    expect(await d.store.get(COLLECTIONS.queue, waiting.requestId)).toMatchObject({
      status: 'pending',
      retryCount: 0,
      waitChecks: 6,
      needsManualFix: false,
    });
  });

  it('picks up a retrying entry whose retry was lost, after retryingStaleSeconds', async () => {
    const d = setup();
    const entry = await seedEntry(d.store);
    await runAutoRetryTick(d);
    expect((await runAutoRetryTick(d)).retried).toBe(0);
    d.clock.advance(31_000);
    expect((await runAutoRetryTick(d)).retried).toBe(1);
    expect(await d.store.get(COLLECTIONS.queue, entry.requestId)).toMatchObject({ retryCount: 2 });
  });

  it('two ticks at once retry each due entry exactly once', async () => {
    const d = setup();
    const entries = await Promise.all(Array.from({ length: 25 }, () => seedEntry(d.store)));
    const [a, b] = await Promise.all([runAutoRetryTick(d), runAutoRetryTick(d)]);
    expect(a.retried + b.retried).toBe(25);
    const ids = (d.publisher.on(phaseTopic('alpha')) as { requestId: string }[])
      .map((m) => m.requestId)
      .sort();
    expect(ids).toEqual(entries.map((e) => e.requestId).sort());
  });

  it('backs off exponentially with jitter, capped', () => {
    const q = testDefinition.queue;
    expect(nextRetryDelayMs(q, 0, () => 0.5)).toBe(1000);
    expect(nextRetryDelayMs(q, 3, () => 0.5)).toBe(8000);
    expect(nextRetryDelayMs(q, 20, () => 0.5)).toBe(10_000);
    expect(nextRetryDelayMs(q, 2, () => 0)).toBe(3200);
    expect(nextRetryDelayMs(q, 2, () => 1)).toBe(4800);
  });
});
