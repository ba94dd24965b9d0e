import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import type { Processor } from '../../shared/runtime/processor.ts';
import { makeProcessorRequest, pubsubEvent } from '../support/factories.ts';
import { setup } from '../support/phase-handler-setup.ts';

describe('phase handler', () => {
  it('records a not-ready source as a waiting queue entry and acks', async () => {
    const { store, handler, clock } = setup();
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets', partition: '1999-05-01' });
    await handler(pubsubEvent(request));
    const entry = await store.get(COLLECTIONS.queue, request.requestId);
    expect(entry).toMatchObject({
      status: 'waiting',
      errorType: 'not_ready',
      needsManualFix: false,
      processor: 'widgets',
    });
    expect(entry?.nextRetryAt).toBe(new Date(clock.now().getTime() + 2000).toISOString());
    // A redelivery of the same message does not rerun a settled request.
    await handler(pubsubEvent(request));
    expect(await store.get(COLLECTIONS.processorRuns, request.requestId)).toMatchObject({
      attempts: 1,
      status: 'waiting',
    });
  });

  it('records a permanent failure with type, message and stack, and acks', async () => {
    const { store, handler } = setup();
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets', partition: '1998-05-01' });
    await handler(pubsubEvent(request));
    const entry = await store.get(COLLECTIONS.queue, request.requestId);
    expect(entry).toMatchObject({
      status: 'failed_permanent',
      errorType: 'permanent',
      needsManualFix: true,
      lastError: 'schema of 1998-05-01 is not supported',
    });
    expect(String(entry?.stack)).toMatch(/PermanentError/);
    expect(entry?.originalMessage).toMatchObject({
      data: Buffer.from(JSON.stringify(request)).toString('base64'),
    });
  });

  it('classifies a TypeError in a processor as a bug: failed_permanent, not redelivered', async () => {
    const buggy: Processor = {
      run() {
        const missing = undefined as unknown as { length: number };
        return Promise.resolve({ metrics: { n: missing.length } });
      },
    };
    const { store, handler } = setup({ processors: { widgets: buggy } });
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
    await handler(pubsubEvent(request));
    expect(await store.get(COLLECTIONS.queue, request.requestId)).toMatchObject({
      status: 'failed_permanent',
      errorType: 'bug',
      errorReason: 'TypeError',
    });
  });

  it.each([
    ['not base64 JSON', { raw: '!!!not-json' }, /data is not JSON/],
    ['missing fields', { payload: { partition: '2024-04-21' } }, /invalid ProcessorRequest: runId/],
    [
      'an impossible date',
      {
        payload: {
          ...makeProcessorRequest({ phase: 'alpha', processor: 'widgets' }),
          partition: '2024-02-30',
        },
      },
      /partition: not a calendar date \(this pipeline's partitions: a day, YYYY-MM-DD\)/,
    ],
  ])('rejects a payload with %s as failed_permanent keyed by message id', async (_label, input, message) => {
    const { store, handler } = setup();
    const event =
      'raw' in input
        ? pubsubEvent(null, { raw: Buffer.from(input.raw).toString('base64'), messageId: 'm-1' })
        : pubsubEvent(input.payload, { messageId: 'm-1' });
    await handler(event);
    const entry = await store.get(COLLECTIONS.queue, 'msg-m-1');
    expect(entry).toMatchObject({
      status: 'failed_permanent',
      errorType: 'permanent',
      errorReason: 'validation',
      occurrences: 1,
    });
    expect(String(entry?.lastError)).toMatch(message);
    await handler(event);
    expect(await store.get(COLLECTIONS.queue, 'msg-m-1')).toMatchObject({ occurrences: 2 });
  });

  it('rejects an unknown processor naming the known ones', async () => {
    const { store, handler } = setup();
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widget' });
    await handler(pubsubEvent(request));
    expect((await store.get(COLLECTIONS.queue, request.requestId))?.lastError).toBe(
      'unknown processor "widget" for phase "alpha"; known processors: widgets, gadgets',
    );
  });

  it('rejects a request for another phase', async () => {
    const { store, handler } = setup();
    const request = makeProcessorRequest({ phase: 'beta', processor: 'summary' });
    await handler(pubsubEvent(request));
    expect((await store.get(COLLECTIONS.queue, request.requestId))?.lastError).toMatch(
      /delivered to phase "alpha"/,
    );
  });

  it('throws (redeliver) when the failure itself cannot be recorded', async () => {
    const { store, handler } = setup();
    store.transaction = () => Promise.reject(Object.assign(new Error('14 UNAVAILABLE'), { code: 14 }));
    await expect(handler(pubsubEvent(null, { raw: Buffer.from('nope').toString('base64') }))).rejects.toThrow(
      /UNAVAILABLE/,
    );
  });

  it('refuses to build a handler for a phase with an unregistered processor', () => {
    expect(() => setup({ processors: { gadgets: undefined as unknown as Processor } })).toThrow(
      /no implementation registered for gadgets/,
    );
  });
});

describe('ids that would name a document path', () => {
  it('a requestId with "/" is refused at the boundary as permanent and acked, not retried until it dead-letters', async () => {
    const { store, handler } = setup();
    const request = {
      ...makeProcessorRequest({ phase: 'alpha', processor: 'widgets' }),
      requestId: 'run/alpha/widgets',
    };
    await expect(handler(pubsubEvent(request, { messageId: 'slash-1' }))).resolves.toBeUndefined();
    const entries = store.docs(COLLECTIONS.queue);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ status: 'failed_permanent', needsManualFix: true });
    expect(String(entries[0]!.lastError)).toContain('no "/"');
  });

  it('the in-memory store refuses what Firestore refuses: a path as an id, a document over 1 MiB', async () => {
    const store = new MemoryStore();
    await expect(store.set('c', 'a/b', {})).rejects.toThrow(/must point to a document/);
    await expect(store.set('c', 'big', { blob: 'x'.repeat(1_100_000) })).rejects.toThrow(
      /exceeds the maximum allowed size of 1048576 bytes/,
    );
    await expect(store.set('c', 'fine', { blob: 'x'.repeat(1000) })).resolves.toBeUndefined();
  });
});
