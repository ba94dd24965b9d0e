import { describe, expect, it } from 'vitest';
import { TOPICS } from '../../shared/messages/messages.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import type { Processor } from '../../shared/runtime/processor.ts';
import type { MemoryStore } from '../../shared/testing/memory-store.ts';
import { testProcessors } from '../fixtures/test-pipeline/processors.ts';
import { makeProcessorRequest, pubsubEvent } from '../support/factories.ts';
import { executions, setup } from '../support/phase-handler-setup.ts';

/** Every round trip the handler makes to the store: each commit with what it writes, each read with what it reads. */
function recordTrips(store: MemoryStore) {
  const trips: string[] = [];
  const writes = (ws: readonly { collection: string }[]) => ws.map((w) => w.collection).join(',');
  const { get, getMany, createWith, writeBatch, transaction } = {
    get: store.get.bind(store),
    getMany: store.getMany.bind(store),
    createWith: store.createWith.bind(store),
    writeBatch: store.writeBatch.bind(store),
    transaction: store.transaction.bind(store),
  };
  // The in-memory store's transactions read through `get`: those reads count with their transaction.
  let inTransaction = 0;
  store.get = (c, id) => (inTransaction === 0 && trips.push(`read ${c}`), get(c, id));
  store.getMany = (c, ids) => (trips.push(`read ${c}`), getMany(c, ids));
  store.createWith = (doc, also) => (trips.push(`create ${writes([doc, ...also])}`), createWith(doc, also));
  store.writeBatch = (ws) => (trips.push(`batch ${writes(ws)}`), writeBatch(ws));
  store.transaction = (fn) =>
    transaction(async (tx) => {
      const reads: string[] = [];
      const sets: { collection: string }[] = [];
      inTransaction += 1;
      const result = await fn({
        ...tx,
        get: (c, id) => (reads.push(c), tx.get(c, id)),
        set: (c, id, d, o) => (sets.push({ collection: c }), tx.set(c, id, d, o)),
      }).finally(() => (inTransaction -= 1));
      trips.push(`transaction reads ${reads.join(',')} writes ${writes(sets)}`);
      return result;
    });
  return trips;
}

describe('what one message costs the store', () => {
  it('a first delivery: claim and started event, the run lock, then data and completion record in one commit; no read-back', async () => {
    const { store, publisher, handler } = setup();
    const trips = recordTrips(store);
    await handler(pubsubEvent(makeProcessorRequest({ phase: 'alpha', processor: 'widgets' })));
    expect(trips).toEqual([
      `create ${COLLECTIONS.processorRuns},${COLLECTIONS.events}`,
      `read ${COLLECTIONS.runLocks}`,
      `transaction reads ${COLLECTIONS.runLocks} writes widgets,widgets,widgets,executions,` +
        `${COLLECTIONS.processorRuns},${COLLECTIONS.events}`,
    ]);
    expect(publisher.on(TOPICS.processorCompletions)).toHaveLength(1);
  });

  it('two first deliveries at once: one claims attempt 1 and runs, the other waits for it and acks without running', async () => {
    const { store, publisher, handler } = setup({ leaseWaitMs: 5_000 });
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
    const outcomes = await Promise.allSettled([handler(pubsubEvent(request)), handler(pubsubEvent(request))]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(executions(store)).toBe(1);
    // The waiting one found the request completed and re-published its completion (idempotent downstream).
    expect(publisher.on(TOPICS.processorCompletions)).toHaveLength(2);
    expect(await store.get(COLLECTIONS.processorRuns, request.requestId)).toMatchObject({
      status: 'completed',
      attempts: 1,
    });
  });

  it('a first delivery of a run whose partition a newer run holds: acked as superseded, the processor never runs', async () => {
    let runs = 0;
    const widgets: Processor = { run: (ctx) => ((runs += 1), testProcessors.widgets.run(ctx)) };
    const { store, publisher, handler } = setup({ processors: { widgets } });
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
    await store.set(COLLECTIONS.runLocks, request.partition, { runId: 'the-newer-run' });
    await handler(pubsubEvent(request));
    expect(runs).toBe(0);
    expect(publisher.on(TOPICS.processorCompletions)).toEqual([]);
    const superseded = store.docs(COLLECTIONS.events).filter((e) => e.type === 'superseded');
    expect(superseded.map((e) => e.message)).toEqual([
      `request of run ${request.runId} acked without effect: run the-newer-run is the current run of ${request.partition}`,
    ]);
    // Its claim is taken back: no record says it runs, no event says it started.
    expect(await store.get(COLLECTIONS.processorRuns, request.requestId)).toBeUndefined();
    expect(store.docs(COLLECTIONS.events).filter((e) => e.type === 'processor_started')).toEqual([]);
  });

  it('refuses a collection the definition does not list among the outputs: permanent, nothing of the attempt written', async () => {
    const stray: Processor = {
      async run(ctx) {
        await ctx.write('widgets', [{ id: 'w1', data: { partition: ctx.request.partition } }]);
        await ctx.write('strays', [{ id: 's1', data: {} }]);
        return {};
      },
    };
    const { store, publisher, handler } = setup({ processors: { widgets: stray } });
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
    await handler(pubsubEvent(request));
    expect(await store.get(COLLECTIONS.queue, request.requestId)).toMatchObject({
      status: 'failed_permanent',
      errorType: 'permanent',
      lastError:
        'processor "widgets" wrote "strays", which the definition does not list among its outputs (widgets, executions)',
    });
    expect([...store.docs('widgets'), ...store.docs('strays')]).toEqual([]);
    expect(publisher.on(TOPICS.processorCompletions).map((m) => (m as { outcome?: string }).outcome)).toEqual(
      ['failed_permanent'],
    );
  });
});
