import { describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { ProcessorCompletedSchema, TOPICS } from '../../shared/messages/messages.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { makeProcessorRequest, pubsubEvent } from '../support/factories.ts';
import { executions, failCompletionCommitOnce, setup } from '../support/phase-handler-setup.ts';

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

  it('commits the data with its completion record: a commit that fails leaves neither and publishes nothing', async () => {
    const { store, publisher, handler } = setup();
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
    const commit = failCompletionCommitOnce(store);
    await expect(handler(pubsubEvent(request))).rejects.toThrow(/did not land/);
    expect(commit.failed()).toBe(true);
    // No data without its record, so no crash between the two can leave one without the other.
    expect(store.docs('widgets')).toEqual([]);
    expect(executions(store)).toBe(0);
    expect(await store.get(COLLECTIONS.processorRuns, request.requestId)).toMatchObject({
      status: 'failed_transient',
    });
    expect(publisher.on(TOPICS.processorCompletions)).toEqual([]);
    await handler(pubsubEvent(request));
    expect(store.docs('widgets')).toHaveLength(3);
    expect(publisher.on(TOPICS.processorCompletions)).toHaveLength(1);
  });

  it('redelivers, rather than runs twice, while another delivery holds the lease; runs after the lease expires', async () => {
    // No wait for the lease (the set-up's default): the answer is at once.
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

  it('waits for a lease that lapses (its holder was killed) and takes the request over, instead of answering 5xx', async () => {
    const { store, clock, handler } = setup({ leaseMs: 300, leaseWaitMs: 5_000 });
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
    await store.set(COLLECTIONS.processorRuns, request.requestId, {
      status: 'running',
      attempts: 1,
      leaseExpiresAt: new Date(clock.now().getTime() + 300).toISOString(),
    });
    // The holder renews nothing; time passes while this delivery waits.
    const ticking = setInterval(() => clock.advance(100), 50);
    try {
      await handler(pubsubEvent(request));
    } finally {
      clearInterval(ticking);
    }
    expect(await store.get(COLLECTIONS.processorRuns, request.requestId)).toMatchObject({
      status: 'completed',
      attempts: 2,
    });
    expect(executions(store)).toBe(1);
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
    // The commit that records the completion fails once (the process dies, Firestore refuses it).
    failCompletionCommitOnce(store);
    await expect(handler(pubsubEvent(request))).rejects.toThrow(/did not land/);
    expect(publisher.on(TOPICS.processorCompletions)).toEqual([]);
    // A process that died there would still hold the lease: the redelivery runs after it.
    clock.advance(testDefinition.phases[0]!.function.timeoutSeconds * 1000 + 1);
    await handler(pubsubEvent(request));
    expect(await store.get(COLLECTIONS.processorRuns, request.requestId)).toMatchObject({
      status: 'completed',
    });
    expect(publisher.on(TOPICS.processorCompletions)).toHaveLength(1);
  });
});
