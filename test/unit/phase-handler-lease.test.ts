import { describe, expect, it, vi } from 'vitest';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import type { Processor } from '../../shared/runtime/processor.ts';
import { PermanentError } from '../../shared/errors/errors.ts';
import { TOPICS } from '../../shared/messages/messages.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { testProcessors } from '../fixtures/test-pipeline/processors.ts';
import { makeProcessorRequest, pubsubEvent } from '../support/factories.ts';
import { setup } from '../support/phase-handler-setup.ts';

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
