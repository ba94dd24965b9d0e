import { describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import type { Processor } from '../../shared/runtime/processor.ts';
import { ProcessorCompletedSchema, TOPICS } from '../../shared/messages/messages.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { makeProcessorRequest, pubsubEvent } from '../support/factories.ts';
import { executions, setup } from '../support/phase-handler-setup.ts';

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
});
