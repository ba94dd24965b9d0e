import { describe, expect, it, vi } from 'vitest';
import { MemoryPublisher } from '../../shared/testing/memory-publisher.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { createHttpClient } from '../../shared/lib/http-client.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { withInjectedFaults } from '../../shared/runtime/fault-decorators.ts';
import { createFaultInjector } from '../../shared/runtime/faults.ts';
import { createPhaseHandler } from '../../shared/runtime/phase-handler.ts';
import type { Processor } from '../../shared/runtime/processor.ts';
import { PermanentError } from '../../shared/errors/errors.ts';
import { ProcessorCompletedSchema, TOPICS } from '../../shared/messages/messages.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { testProcessors } from '../fixtures/test-pipeline/processors.ts';
import { makeProcessorRequest, manualClock, pubsubEvent } from '../support/factories.ts';

function setup(
  options: {
    processors?: Record<string, Processor>;
    failWrites?: number | 'always';
    phaseId?: string;
    leaseMs?: number;
  } = {},
) {
  const store = new MemoryStore();
  const publisher = new MemoryPublisher();
  const clock = manualClock();
  const logger = createMemoryLogger();
  const faults =
    options.failWrites === undefined
      ? undefined
      : createFaultInjector({ writeFailures: [{ processor: 'widgets', times: options.failWrites }] });
  const handler = createPhaseHandler({
    definition: testDefinition,
    phaseId: options.phaseId ?? 'alpha',
    processors: withInjectedFaults({ ...testProcessors, ...options.processors }, faults),
    store,
    publisher,
    clock,
    logger,
    http: createHttpClient({ retries: 0 }),
    leaseMs: options.leaseMs,
  });
  return { store, publisher, clock, logger, handler };
}

const executions = (store: MemoryStore) => store.docs('executions').length;

describe('phase handler', () => {
  it('runs the processor, verifies its writes, records events and publishes the completion', async () => {
    const { store, publisher, handler } = setup();
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
    await handler(pubsubEvent(request));

    expect(store.docs('widgets')).toHaveLength(3);
    expect(
      store.docs('widgets').every((d) => d.runId === request.runId && typeof d.updatedAt === 'string'),
    ).toBe(true);
    const completions = publisher.on(TOPICS.processorCompletions);
    expect(completions).toHaveLength(1);
    const completion = ProcessorCompletedSchema.parse(completions[0]);
    expect(completion).toMatchObject({
      requestId: request.requestId,
      records: { widgets: 3, executions: 1 },
      metrics: { widgets: 3 },
    });
    expect(completion.traceparent.split('-')[1]).toBe(request.traceparent.split('-')[1]);
    expect(
      store
        .docs(COLLECTIONS.events)
        .map((e) => e.type)
        .sort(),
    ).toEqual(['processor_completed', 'processor_started']);
    expect(await store.get(COLLECTIONS.processorRuns, request.requestId)).toMatchObject({
      status: 'completed',
      attempts: 1,
    });
  });

  it('acks a duplicate of a completed request without redoing the work, and re-publishes its completion', async () => {
    const { store, publisher, handler } = setup();
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
    await handler(pubsubEvent(request));
    await handler(pubsubEvent(request));
    expect(executions(store)).toBe(1);
    const completions = publisher.on(TOPICS.processorCompletions);
    expect(completions).toHaveLength(2);
    expect(completions[1]).toEqual(completions[0]);
  });

  it('throws on a failed write so the delivery is answered 5xx, and succeeds on the redelivery', async () => {
    const { store, publisher, handler } = setup({ failWrites: 1 });
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
    await expect(handler(pubsubEvent(request))).rejects.toThrow(/injected write failure/);
    expect(publisher.published).toHaveLength(0);
    const failed = store.docs(COLLECTIONS.events).find((e) => e.type === 'processor_failed');
    expect(failed).toMatchObject({ errorType: 'transient', attempt: 1, processor: 'widgets' });
    expect(String(failed?.message)).toMatch(/injected write failure/);
    expect(store.docs(COLLECTIONS.queue)).toHaveLength(0);

    await handler(pubsubEvent(request));
    expect(await store.get(COLLECTIONS.processorRuns, request.requestId)).toMatchObject({
      status: 'completed',
      attempts: 2,
    });
    expect(publisher.on(TOPICS.processorCompletions)).toHaveLength(1);
  });

  it('treats a write that did not land as transient: completion is never published without the data', async () => {
    const lying: Processor = {
      async run(ctx) {
        await ctx.write('widgets', [{ id: 'w1', data: { partition: ctx.request.partition } }]);
        await ctx.write('executions', []);
        return {};
      },
    };
    const { store, publisher, handler } = setup({ processors: { widgets: lying } });
    const original = store.transaction.bind(store);
    // The commit "succeeds" but only the bookkeeping lands: the domain write is lost.
    store.transaction = (fn) =>
      original((tx) =>
        fn({ get: tx.get, set: (c, id, d, o) => (c === 'widgets' ? undefined : tx.set(c, id, d, o)) }),
      );
    await expect(
      handler(pubsubEvent(makeProcessorRequest({ phase: 'alpha', processor: 'widgets' }))),
    ).rejects.toThrow(/write not verified: widgets has 0 of the 1/);
    expect(publisher.published).toHaveLength(0);
  });

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

  it('redelivers, rather than runs twice, while another delivery holds the lease; runs after the lease expires', async () => {
    const { store, clock, handler } = setup();
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
    await store.set(COLLECTIONS.processorRuns, request.requestId, {
      status: 'running',
      attempts: 1,
      leaseExpiresAt: new Date(clock.now().getTime() + 5000).toISOString(),
    });
    await expect(handler(pubsubEvent(request))).rejects.toThrow(/being processed by another delivery/);
    clock.advance(6000);
    await handler(pubsubEvent(request));
    expect(await store.get(COLLECTIONS.processorRuns, request.requestId)).toMatchObject({
      status: 'completed',
      attempts: 2,
    });
  });

  it('does not lose the completion when its publish fails: the redelivery re-publishes it', async () => {
    const { store, publisher, handler } = setup();
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
    publisher.failNext(1);
    await expect(handler(pubsubEvent(request))).rejects.toThrow(/UNAVAILABLE/);
    await handler(pubsubEvent(request));
    expect(executions(store)).toBe(1);
    expect(publisher.on(TOPICS.processorCompletions)).toHaveLength(1);
  });

  it('publishes no completion whose record failed: a re-run that fails cannot contradict one already counted', async () => {
    const { store, publisher, clock, handler } = setup();
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
    const original = store.writeBatch.bind(store);
    // The batch that records the completion fails once (the process dies, Firestore refuses it).
    let failed = false;
    store.writeBatch = (writes) => {
      if (!failed && writes.some((w) => w.collection === COLLECTIONS.processorRuns)) {
        failed = true;
        return Promise.reject(new Error('UNAVAILABLE: the completion record did not commit'));
      }
      return original(writes);
    };
    await expect(handler(pubsubEvent(request))).rejects.toThrow(/did not commit/);
    expect(publisher.on(TOPICS.processorCompletions)).toEqual([]);
    // The attempt still holds its lease (as a crashed process would): the redelivery runs after it.
    clock.advance(testDefinition.phases[0]!.function.timeoutSeconds * 1000 + 1);
    await handler(pubsubEvent(request));
    expect(await store.get(COLLECTIONS.processorRuns, request.requestId)).toMatchObject({
      status: 'completed',
    });
    expect(publisher.on(TOPICS.processorCompletions)).toHaveLength(1);
  });

  it('refuses to build a handler for a phase with an unregistered processor', () => {
    expect(() => setup({ processors: { gadgets: undefined as unknown as Processor } })).toThrow(
      /no implementation registered for gadgets/,
    );
  });
});

describe('the lease of a running attempt', () => {
  const leaseOf = async (store: MemoryStore, requestId: string) =>
    Date.parse(String((await store.get(COLLECTIONS.processorRuns, requestId))?.leaseExpiresAt));
  const timeoutMs = testDefinition.phases[0]!.function.timeoutSeconds * 1000;

  it('is short, not the whole timeout: once an attempt stops renewing (killed), a redelivery takes over after it', async () => {
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const widgets: Processor = {
      run: async (ctx) => (++calls === 1 && (await stuck), testProcessors.widgets.run(ctx)),
    };
    const { store, clock, handler } = setup({ processors: { widgets }, leaseMs: 15_000 });
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
    const t0 = clock.now().getTime();
    const first = handler(pubsubEvent(request));
    await new Promise((r) => setTimeout(r, 10));
    expect(await leaseOf(store, request.requestId)).toBe(t0 + 15_000);
    // No renewal lands (its timer fires every 5 s of real time): as if the process was killed.
    clock.advance(15_001);
    await handler(pubsubEvent(request));
    expect(await store.get(COLLECTIONS.processorRuns, request.requestId)).toMatchObject({
      status: 'completed',
      attempts: 2,
    });
    // The stuck attempt, finishing late, does the same idempotent work: still one set of documents.
    release();
    await first;
    expect(store.docs('widgets')).toHaveLength(3);
  });

  it('refuses a lease that is not a positive number of milliseconds', () => {
    expect(() => setup({ leaseMs: 0 })).toThrow(/leaseMs must be a positive number/);
    expect(() => setup({ leaseMs: Number.NaN })).toThrow(/leaseMs must be a positive number/);
  });

  it('is renewed while the attempt runs, never past its timeout, and a redelivery meanwhile is held off', async () => {
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    const widgets: Processor = { run: async (ctx) => (await stuck, testProcessors.widgets.run(ctx)) };
    const leaseMs = 30;
    const { store, clock, handler } = setup({ processors: { widgets }, leaseMs });
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
    const t0 = clock.now().getTime();
    const first = handler(pubsubEvent(request));
    // Renewals run on real timers (every 10 ms here): wait for them rather than for a fixed time.
    await vi.waitFor(async () => expect(await leaseOf(store, request.requestId)).toBe(t0 + leaseMs));
    clock.advance(leaseMs * 2);
    await vi.waitFor(async () => expect(await leaseOf(store, request.requestId)).toBe(t0 + leaseMs * 3));
    await expect(handler(pubsubEvent(request))).rejects.toThrow(/being processed by another delivery/);
    // Near its timeout the renewal stops at the timeout: a hung attempt does not hold the request for ever.
    clock.advance(timeoutMs - leaseMs * 2 - 10);
    await vi.waitFor(async () => expect(await leaseOf(store, request.requestId)).toBe(t0 + timeoutMs));
    release();
    await first;
    expect(await store.get(COLLECTIONS.processorRuns, request.requestId)).toMatchObject({
      status: 'completed',
      attempts: 1,
      leaseExpiresAt: null,
    });
  });
});

describe('an attempt that outlives its lease (a zombie)', () => {
  it('fails after a newer attempt completed: the request stays completed, no queue entry, no failure notice', async () => {
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const widgets: Processor = {
      async run(ctx) {
        calls += 1;
        if (calls === 1) {
          await stuck;
          throw new PermanentError('the zombie attempt gives up');
        }
        return testProcessors.widgets.run(ctx);
      },
    };
    const { store, publisher, clock, handler } = setup({ processors: { widgets } });
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
    const first = handler(pubsubEvent(request, { messageId: 'd1' }));
    await new Promise((r) => setTimeout(r, 10));
    // The first attempt runs past its lease; Pub/Sub redelivers and a second attempt completes.
    clock.advance(testDefinition.phases[0]!.function.timeoutSeconds * 1000 + 1000);
    await handler(pubsubEvent(request, { messageId: 'd1' }));
    expect(await store.get(COLLECTIONS.processorRuns, request.requestId)).toMatchObject({
      status: 'completed',
      attempts: 2,
    });
    release();
    // Not acked: the message's redelivery settles it by the newer attempt's outcome (here: completed).
    await expect(first).rejects.toThrow(/failed after a newer attempt took over/);
    expect(await store.get(COLLECTIONS.processorRuns, request.requestId)).toMatchObject({
      status: 'completed',
      attempts: 2,
    });
    expect(await store.get(COLLECTIONS.queue, request.requestId)).toBeUndefined();
    const outcomes = publisher.on(TOPICS.processorCompletions) as { outcome?: string }[];
    expect(outcomes.map((o) => o.outcome ?? 'completed')).toEqual(['completed']);
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
