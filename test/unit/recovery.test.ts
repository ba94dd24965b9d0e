import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryPublisher } from '../../shared/testing/memory-publisher.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { phaseTopic } from '../../shared/messages/messages.ts';
import { runAutoRetryTick } from '../../shared/recovery/auto-retry.ts';
import { createDlqRecorder } from '../../shared/recovery/dlq-recorder.ts';
import { createNotifier } from '../../shared/recovery/notifier.ts';
import {
  discardEntry,
  listQueue,
  requeueRange,
  resolveEntry,
  retryNow,
  showEntry,
} from '../../shared/recovery/queue-actions.ts';
import { nextRetryDelayMs } from '../../shared/recovery/queue-policy.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { withFailingWrites } from '../../shared/runtime/fault-decorators.ts';
import { createFaultInjector } from '../../shared/runtime/faults.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { makeProcessorRequest, makeQueueEntry, manualClock, pubsubEvent } from '../support/factories.ts';

function setup() {
  const store = new MemoryStore();
  const publisher = new MemoryPublisher();
  const clock = manualClock();
  const logger = createMemoryLogger();
  const alerts: string[] = [];
  const deps = {
    definition: testDefinition,
    store,
    publisher,
    clock,
    logger,
    notifier: (a: { kind: string; message: string }) =>
      Promise.resolve(void alerts.push(`${a.kind}: ${a.message}`)),
  };
  return { ...deps, alerts };
}

async function seedEntry(store: MemoryStore, overrides: Record<string, unknown> = {}) {
  const request = makeProcessorRequest({
    phase: 'alpha',
    processor: 'widgets',
    runId: `run-${Math.random().toString(36).slice(2, 8)}`,
  });
  const entry = {
    requestId: request.requestId,
    status: 'pending',
    errorType: 'transient',
    errorReason: 'dead_lettered',
    lastError: 'boom',
    needsManualFix: false,
    runId: request.runId,
    partition: request.partition,
    phase: 'alpha',
    processor: 'widgets',
    request,
    failureEventId: `${request.requestId}--dead_lettered`,
    firstFailedAt: '2026-03-01T11:00:00.000Z',
    retryCount: 0,
    nextRetryAt: '2026-03-01T11:59:00.000Z',
    deadlineAt: null,
    ...overrides,
  };
  await store.set(COLLECTIONS.queue, request.requestId, entry);
  return entry;
}

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

describe('dlq-recorder', () => {
  function deadLetter(payload: unknown, deliveryCount = 5) {
    const event = pubsubEvent(payload, { messageId: 'dl-1' });
    event.data!.message!.attributes = {
      CloudPubSubDeadLetterSourceDeliveryCount: String(deliveryCount),
      CloudPubSubDeadLetterSourceSubscription: 'projects/p/subscriptions/phase-alpha-sub',
    };
    return event;
  }

  it('never fails on a payload: a 2 MB poison message is kept as its first bytes, size and sha256', async () => {
    const d = setup();
    const poison = Buffer.alloc(2 * 1024 * 1024, 'x');
    const event = deadLetter(null);
    event.data!.message!.data = poison.toString('base64');
    await createDlqRecorder(d)(event);
    const [entry] = d.store.docs(COLLECTIONS.queue);
    expect(entry).toMatchObject({
      status: 'failed_permanent',
      originalMessage: {
        truncated: true,
        dataBytes: poison.length,
        dataSha256: createHash('sha256').update(poison).digest('hex'),
      },
    });
    expect(String((entry!.originalMessage as { data: string }).data).length).toBeLessThanOrEqual(64 * 1024);
  });

  it('a late dead letter never reopens: succeeded and discarded stay closed, waiting stays waiting, a completed request gets no entry', async () => {
    const d = setup();
    const recorder = createDlqRecorder(d);
    const succeeded = await seedEntry(d.store, { status: 'succeeded', nextRetryAt: null });
    const discarded = await seedEntry(d.store, { status: 'discarded', nextRetryAt: null });
    const waiting = await seedEntry(d.store, {
      status: 'waiting',
      errorType: 'not_ready',
      nextRetryAt: '2026-03-01T12:30:00.000Z',
      deadlineAt: '2026-03-02T00:00:00.000Z',
    });
    for (const entry of [succeeded, discarded, waiting]) await recorder(deadLetter(entry.request));
    expect(await d.store.get(COLLECTIONS.queue, succeeded.requestId)).toMatchObject({ status: 'succeeded' });
    expect(await d.store.get(COLLECTIONS.queue, discarded.requestId)).toMatchObject({ status: 'discarded' });
    expect(await d.store.get(COLLECTIONS.queue, waiting.requestId)).toMatchObject({
      status: 'waiting',
      nextRetryAt: '2026-03-01T12:30:00.000Z',
      deadlineAt: '2026-03-02T00:00:00.000Z',
    });
    // An old delivery of a request a newer delivery completed: history, not work.
    const done = makeProcessorRequest({ phase: 'alpha', processor: 'gadgets' });
    await d.store.set(COLLECTIONS.processorRuns, done.requestId, {
      requestId: done.requestId,
      status: 'completed',
      attempts: 2,
    });
    await recorder(deadLetter(done));
    expect(await d.store.get(COLLECTIONS.queue, done.requestId)).toBeUndefined();
    const late = d.store
      .docs(COLLECTIONS.events)
      .filter((e) => e.type === 'dead_lettered')
      .map((e) => String(e.message));
    expect(late.filter((m) => m.startsWith('late dead letter, ignored'))).toHaveLength(3);
    expect(d.alerts).toEqual([]);
    expect(d.publisher.published).toHaveLength(0);
  });

  it('writes the entry keyed by requestId with the original, delivery count, and the last error from the event log', async () => {
    const d = setup();
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'gadgets' });
    await d.store.set(COLLECTIONS.events, 'e1', {
      eventId: 'e1',
      type: 'processor_failed',
      requestId: request.requestId,
      at: '2026-03-01T10:00:00.000Z',
      errorType: 'transient',
      errorReason: 'grpc_UNAVAILABLE',
      message: 'first',
    });
    await d.store.set(COLLECTIONS.events, 'e2', {
      eventId: 'e2',
      type: 'processor_failed',
      requestId: request.requestId,
      at: '2026-03-01T10:05:00.000Z',
      errorType: 'transient',
      errorReason: 'grpc_UNAVAILABLE',
      message: 'last',
    });
    await createDlqRecorder(d)(deadLetter(request));
    const entry = await d.store.get(COLLECTIONS.queue, request.requestId);
    expect(entry).toMatchObject({
      status: 'pending',
      deliveryCount: 5,
      lastError: 'last',
      errorReason: 'grpc_UNAVAILABLE',
      firstFailedAt: '2026-03-01T10:00:00.000Z',
      retryCount: 0,
      request,
    });
    expect(d.store.docs(COLLECTIONS.events).find((e) => e.type === 'dead_lettered')).toMatchObject({
      parentEventId: 'e2',
      deliveryCount: 5,
    });
  });

  it('throws (no ack) when its own write fails, and records on the next delivery', async () => {
    const d = setup();
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'gadgets' });
    const faults = createFaultInjector({ writeFailures: [{ processor: 'dlq-recorder', times: 1 }] });
    const recorder = createDlqRecorder({ ...d, store: withFailingWrites(d.store, 'dlq-recorder', faults) });
    await expect(recorder(deadLetter(request))).rejects.toThrow(/injected write failure/);
    expect(await d.store.get(COLLECTIONS.queue, request.requestId)).toBeUndefined();
    await recorder(deadLetter(request));
    expect(await d.store.get(COLLECTIONS.queue, request.requestId)).toMatchObject({ status: 'pending' });
  });

  it('keeps the retry count when a retried request dead-letters again, and gives up at maxRetries', async () => {
    const d = setup();
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'gadgets' });
    await d.store.set(COLLECTIONS.queue, request.requestId, {
      requestId: request.requestId,
      status: 'retrying',
      retryCount: 3,
      firstFailedAt: '2026-03-01T09:00:00.000Z',
    });
    await createDlqRecorder(d)(deadLetter(request));
    expect(await d.store.get(COLLECTIONS.queue, request.requestId)).toMatchObject({
      status: 'failed_permanent',
      retryCount: 3,
      firstFailedAt: '2026-03-01T09:00:00.000Z',
      needsManualFix: true,
    });
    expect(d.alerts).toHaveLength(1);
  });
});

describe('manual recovery', () => {
  it('retry now, resolve, discard and requeue are transitions with events; final entries refuse changes', async () => {
    const d = setup();
    const failed = await seedEntry(d.store, { status: 'failed_permanent', partition: '2024-04-21' });
    const other = await seedEntry(d.store, { status: 'failed_permanent', partition: '2024-05-01' });
    await retryNow(d, failed.requestId, 'fixed the schema');
    expect(await d.store.get(COLLECTIONS.queue, failed.requestId)).toMatchObject({
      status: 'retrying',
      note: 'fixed the schema',
      retryCount: 1,
    });
    expect(d.publisher.on(phaseTopic('alpha'))).toHaveLength(1);
    await resolveEntry(d, failed.requestId, 'reran by hand');
    await expect(discardEntry(d, failed.requestId, 'oops')).rejects.toThrow(
      /is succeeded; discarded applies to pending, waiting, retrying, failed_permanent/,
    );
    expect(await requeueRange(d, '2024-04-01', '2024-04-30', 'outage over')).toEqual([]);
    expect(await requeueRange(d, '2024-05-01', '2024-05-31', 'outage over')).toEqual([other.requestId]);
    expect(await d.store.get(COLLECTIONS.queue, other.requestId)).toMatchObject({
      status: 'pending',
      retryCount: 0,
    });
    const { events } = await showEntry(d.store, failed.requestId);
    expect(events.map((e) => e.type)).toEqual(['retry_started', 'queue_resolved']);
    expect(events.every((e) => e.parentEventId === failed.failureEventId)).toBe(true);
    expect((await listQueue(d.store, { status: 'pending' })).map((e) => e.requestId)).toEqual([
      other.requestId,
    ]);
  });

  it("lists a range of partitions in the scheme's order, not string order", async () => {
    const d = setup();
    for (const partition of ['r-2', 'r-9', 'r-10', 'r-11'])
      await d.store.set(COLLECTIONS.queue, `e-${partition}`, {
        requestId: `e-${partition}`,
        status: 'pending',
        partition,
        firstFailedAt: partition,
      });
    const numeric = (a: string, b: string) => Number(a.slice(2)) - Number(b.slice(2));
    const listed = await listQueue(d.store, { from: 'r-2', to: 'r-10', compare: numeric });
    expect(listed.map((e) => e.partition).sort()).toEqual(['r-10', 'r-2', 'r-9']);
    // In string order r-10 sorts before r-2: the same range would hold nothing.
    expect(await listQueue(d.store, { from: 'r-2', to: 'r-10' })).toEqual([]);
  });

  it('refuses to retry an entry whose payload never parsed', async () => {
    const d = setup();
    await d.store.set(
      COLLECTIONS.queue,
      'msg-9',
      makeQueueEntry({
        requestId: 'msg-9',
        status: 'failed_permanent',
        request: null,
        retryCount: 0,
        phase: 'alpha',
      }),
    );
    await expect(retryNow(d, 'msg-9', 'try')).rejects.toThrow(/never parsed/);
    await expect(retryNow(d, 'nope', 'try')).rejects.toThrow('no queue entry "nope"');
  });
});

describe('notifier', () => {
  it('logs every alert it sends and deduplicates one outage within the window', async () => {
    const d = setup();
    const posted: string[] = [];
    const fakeFetch = ((_url: string, init: { body: string }) => {
      posted.push(init.body);
      return Promise.resolve(new Response('ok'));
    }) as unknown as typeof fetch;
    const notify = createNotifier({
      store: d.store,
      logger: d.logger,
      clock: d.clock,
      webhookUrl: 'http://hook',
      windowMs: 60_000,
      fetch: fakeFetch,
    });
    const alert = {
      kind: 'failed_permanent' as const,
      dedupKey: 'failed_permanent:scrape:x:http_503',
      runId: 'r',
      phase: 'scrape',
      processor: 'x',
      message: 'down',
    };
    for (let i = 0; i < 100; i += 1) await notify(alert);
    expect(posted).toHaveLength(1);
    expect(await d.store.get(COLLECTIONS.alerts, alert.dedupKey)).toMatchObject({
      occurrences: 100,
      suppressed: 99,
    });
    d.clock.advance(61_000);
    await notify(alert);
    expect(posted).toHaveLength(2);
    expect(d.logger.lines.filter((l) => l.message.startsWith('ALERT failed_permanent'))).toHaveLength(2);
  });

  it('a webhook POST that fails is not an alert sent: it is kept, and sent again until it goes through', async () => {
    const d = setup();
    const delivered: string[] = [];
    let down = 2;
    const flakyFetch = ((_url: string, init: { body: string }) => {
      if (down-- > 0) return Promise.resolve(new Response('bad gateway', { status: 502 }));
      delivered.push(init.body);
      return Promise.resolve(new Response('ok'));
    }) as unknown as typeof fetch;
    const notify = createNotifier({
      store: d.store,
      logger: d.logger,
      clock: d.clock,
      webhookUrl: 'http://hook',
      windowMs: 60_000,
      fetch: flakyFetch,
    });
    const alert = {
      kind: 'gate_failed' as const,
      dedupKey: 'gate_failed:raw',
      runId: 'r',
      phase: 'raw',
      processor: null,
      message: 'short',
    };
    await notify(alert);
    // The same outage inside the window is still suppressed, and does not erase the pending delivery.
    await notify(alert);
    expect(await d.store.get(COLLECTIONS.alerts, alert.dedupKey)).toMatchObject({
      webhookPending: true,
      webhookError: 'webhook answered 502',
      suppressed: 1,
    });
    // Not again within the minute; then once per tick until the webhook takes it.
    expect(await notify.resendPending!()).toBe(0);
    d.clock.advance(61_000);
    expect(await notify.resendPending!()).toBe(0);
    d.clock.advance(61_000);
    expect(await notify.resendPending!()).toBe(1);
    expect(delivered.map((b) => (JSON.parse(b) as { message: string }).message)).toEqual(['short']);
    expect(await d.store.get(COLLECTIONS.alerts, alert.dedupKey)).toMatchObject({ webhookPending: false });
    expect(await notify.resendPending!()).toBe(0);
  });
});
