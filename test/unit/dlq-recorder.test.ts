import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDlqRecorder } from '../../shared/recovery/dlq-recorder.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { withFailingWrites } from '../../shared/runtime/fault-decorators.ts';
import { createFaultInjector } from '../../shared/runtime/faults.ts';
import { makeFailedEvent, makeProcessorRequest, makeQueueEntry, pubsubEvent } from '../support/factories.ts';
import { seedEntry, setup } from '../support/recovery-setup.ts';

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

  it(
    'a late dead letter never reopens: succeeded and discarded stay closed, waiting stays waiting, ' +
      'a completed request gets no entry',
    async () => {
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
      expect(await d.store.get(COLLECTIONS.queue, succeeded.requestId)).toMatchObject({
        status: 'succeeded',
      });
      expect(await d.store.get(COLLECTIONS.queue, discarded.requestId)).toMatchObject({
        status: 'discarded',
      });
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
    },
  );

  it('a dead letter of a run a newer one replaced opens no entry (it may come after the sweep of superseded runs)', async () => {
    const d = setup();
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'gadgets' });
    await d.store.set(COLLECTIONS.runLocks, request.partition, { runId: 'the-newer-run' });
    await createDlqRecorder(d)(deadLetter(request));
    expect(d.store.docs(COLLECTIONS.queue)).toEqual([]);
    const [event] = d.store.docs(COLLECTIONS.events).filter((e) => e.type === 'dead_lettered');
    expect(String(event!.message)).toMatch(
      new RegExp(
        `^dead letter of superseded run ${request.runId} \\(run the-newer-run is current\\), ignored`,
      ),
    );
    // Its own run's dead letter still opens one.
    await d.store.set(COLLECTIONS.runLocks, request.partition, { runId: request.runId });
    await createDlqRecorder(d)(deadLetter(request));
    expect(await d.store.get(COLLECTIONS.queue, request.requestId)).toMatchObject({ status: 'pending' });
  });

  it('writes the entry keyed by requestId with the original, delivery count, and the last error from the event log', async () => {
    const d = setup();
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'gadgets' });
    await d.store.set(
      COLLECTIONS.events,
      'e1',
      makeFailedEvent(request, {
        eventId: 'e1',
        type: 'processor_failed',
        requestId: request.requestId,
        at: '2026-03-01T10:00:00.000Z',
        errorType: 'transient',
        errorReason: 'grpc_UNAVAILABLE',
        message: 'first',
      }),
    );
    await d.store.set(
      COLLECTIONS.events,
      'e2',
      makeFailedEvent(request, {
        eventId: 'e2',
        type: 'processor_failed',
        requestId: request.requestId,
        at: '2026-03-01T10:05:00.000Z',
        errorType: 'transient',
        errorReason: 'grpc_UNAVAILABLE',
        message: 'last',
      }),
    );
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
    await d.store.set(
      COLLECTIONS.queue,
      request.requestId,
      makeQueueEntry({
        requestId: request.requestId,
        status: 'retrying',
        retryCount: 3,
        firstFailedAt: '2026-03-01T09:00:00.000Z',
      }),
    );
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
