// Retention of the kit's bookkeeping: what a run stamps with `expiresAt`, and the reconcile tick's
// sweep, which deletes what expired where no TTL policy does (the in-memory store here, the emulator).
import { describe, expect, it } from 'vitest';
import { loadDefinition } from '../../shared/definition/load.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { expiredQuery, sweepExpired } from '../../shared/operations/expiry-sweep.ts';
import { reconcile } from '../../shared/operations/reconciler.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { EXPIRES_AT, TTL_COLLECTIONS, withExpiry } from '../../shared/store/retention.ts';
import { memoryPipeline, type MemoryPipeline } from '../../shared/testing/memory-pipeline.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { manualClock } from '../../shared/testing/manual-clock.ts';
import { testDefinition, testDefinitionInput } from '../fixtures/test-pipeline/definition.ts';
import { testExpectations } from '../fixtures/test-pipeline/expectations.ts';
import { testProcessors } from '../fixtures/test-pipeline/processors.ts';

const DAY_MS = 86_400_000;
/** Collections that keep every document: the contract, decisions, counts and the data itself. */
const KEPT = [COLLECTIONS.runs, COLLECTIONS.runPhases, COLLECTIONS.runLocks];

function pipelineWith(definition = testDefinition): MemoryPipeline {
  return memoryPipeline({ definition, processors: testProcessors, expectations: testExpectations });
}

const tick = (p: MemoryPipeline, sweep = true) =>
  reconcile({
    definition: testDefinition,
    store: p.store,
    publisher: p.publisher,
    clock: p.clock,
    logger: createMemoryLogger(),
    sweepExpired: sweep,
  });

const counts = (store: MemoryStore, collections: readonly string[]) =>
  Object.fromEntries(collections.map((c) => [c, store.docs(c).length]));

describe('bookkeeping retention', () => {
  it('a run stamps its events, attempts, claims and sent outbox entries with now + 30 days, and nothing else', async () => {
    const p = pipelineWith();
    const run = await p.run('2024-04-21');
    expect(run?.status).toBe('SUCCESS');
    const expiry = p.clock.now().getTime() + 30 * DAY_MS;
    for (const collection of [COLLECTIONS.events, COLLECTIONS.processorRuns, COLLECTIONS.outbox])
      expect(p.store.docs(collection).length, collection).toBeGreaterThan(0);
    for (const collection of TTL_COLLECTIONS)
      for (const doc of p.store.docs(collection))
        expect((doc[EXPIRES_AT] as Date).getTime(), collection).toBe(expiry);
    for (const collection of [...KEPT, 'widgets', 'gadgets'])
      for (const doc of p.store.docs(collection)) expect(doc, collection).not.toHaveProperty(EXPIRES_AT);
  });

  it("honours the definition's retention", async () => {
    const p = pipelineWith(loadDefinition({ ...testDefinitionInput, retention: { days: 45 } }));
    await p.run('2024-04-21');
    const expiry = p.clock.now().getTime() + 45 * DAY_MS;
    for (const collection of TTL_COLLECTIONS)
      expect(p.store.docs(collection).map((d) => (d[EXPIRES_AT] as Date).getTime())).toEqual(
        p.store.docs(collection).map(() => expiry),
      );
  });

  it('a reconcile tick deletes what expired and keeps the rest: the run, its decisions, its counts, its data', async () => {
    const p = pipelineWith();
    await p.run('2024-04-21');
    const kept = counts(p.store, [...KEPT, 'widgets', 'gadgets']);
    const bookkeeping = counts(p.store, TTL_COLLECTIONS);
    p.clock.advance(30 * DAY_MS - 1);
    expect((await tick(p)).expired).toEqual({});
    expect(counts(p.store, TTL_COLLECTIONS)).toEqual(bookkeeping);
    p.clock.advance(1);
    expect((await tick(p)).expired).toEqual(
      Object.fromEntries(Object.entries(bookkeeping).filter(([, n]) => n > 0)),
    );
    expect(counts(p.store, TTL_COLLECTIONS)).toEqual(Object.fromEntries(TTL_COLLECTIONS.map((c) => [c, 0])));
    expect(counts(p.store, [...KEPT, 'widgets', 'gadgets'])).toEqual(kept);
    expect(p.store.docs(COLLECTIONS.runs)[0]).toMatchObject({ status: 'SUCCESS' });
  });

  it('sweeps nothing where it is off (production: TTL policies delete)', async () => {
    const p = pipelineWith();
    await p.run('2024-04-21');
    const bookkeeping = counts(p.store, TTL_COLLECTIONS);
    p.clock.advance(400 * DAY_MS);
    expect((await tick(p, false)).expired).toBeNull();
    expect(counts(p.store, TTL_COLLECTIONS)).toEqual(bookkeeping);
  });

  it('an outbox entry never expires while pending; once sent, it expires the retention after', async () => {
    const memory = new MemoryStore();
    const clock = manualClock();
    const store = withExpiry(memory, { days: 30 }, clock);
    await store.transaction((tx) => {
      tx.set(COLLECTIONS.outbox, 'e1', { id: 'e1', status: 'pending', createdAt: clock.now().toISOString() });
      return Promise.resolve();
    });
    expect(memory.docs(COLLECTIONS.outbox)[0]).toMatchObject({ [EXPIRES_AT]: null });
    clock.advance(1000 * DAY_MS);
    await sweepExpired(memory, clock.now());
    expect(memory.docs(COLLECTIONS.outbox)).toHaveLength(1);
    // Sent, then written pending again over its expiry (a merge keeps other fields): no expiry while pending.
    await store.set(COLLECTIONS.outbox, 'e1', { status: 'sent' }, { merge: true });
    await store.set(COLLECTIONS.outbox, 'e1', { status: 'pending' }, { merge: true });
    clock.advance(1000 * DAY_MS);
    expect(await sweepExpired(memory, clock.now())).toEqual({});
    await store.set(COLLECTIONS.outbox, 'e1', { status: 'sent' }, { merge: true });
    clock.advance(30 * DAY_MS - 1);
    expect(await sweepExpired(memory, clock.now())).toEqual({});
    clock.advance(1);
    expect(await sweepExpired(memory, clock.now())).toEqual({ [COLLECTIONS.outbox]: 1 });
    expect(memory.docs(COLLECTIONS.outbox)).toHaveLength(0);
  });

  it("keeps an attempt record written again between the sweep's query and its delete (a retry restamps it)", async () => {
    const memory = new MemoryStore();
    const clock = manualClock();
    const store = withExpiry(memory, { days: 30 }, clock);
    await store.set(COLLECTIONS.processorRuns, 'r1', { status: 'completed', attempts: 1 });
    await store.set(COLLECTIONS.processorRuns, 'r2', { status: 'completed', attempts: 1 });
    clock.advance(30 * DAY_MS);
    // The sweep reads r1 and r2 as expired; then a retry of r1 starts a new attempt, which restamps it.
    const racing = Object.assign(Object.create(memory) as MemoryStore, {
      async query(...args: Parameters<MemoryStore['query']>) {
        const due = await memory.query(...args);
        if (args[0] === COLLECTIONS.processorRuns)
          await store.set(COLLECTIONS.processorRuns, 'r1', { status: 'running', attempts: 2 });
        return due;
      },
    });
    expect(await sweepExpired(racing, clock.now())).toEqual({ [COLLECTIONS.processorRuns]: 1 });
    expect(await memory.get(COLLECTIONS.processorRuns, 'r1')).toMatchObject({
      status: 'running',
      attempts: 2,
    });
    expect(await memory.get(COLLECTIONS.processorRuns, 'r2')).toBeUndefined();
  });

  it('is bounded: at most the limit per collection and tick, the rest on the next ticks', async () => {
    const memory = new MemoryStore();
    const clock = manualClock();
    const store = withExpiry(memory, { days: 30 }, clock);
    await store.writeBatch(
      Array.from({ length: 450 }, (_, i) => ({ collection: COLLECTIONS.events, id: `e${i}`, data: { i } })),
    );
    clock.advance(31 * DAY_MS);
    expect(await sweepExpired(memory, clock.now())).toEqual({ [COLLECTIONS.events]: 200 });
    expect(await sweepExpired(memory, clock.now())).toEqual({ [COLLECTIONS.events]: 200 });
    expect(await sweepExpired(memory, clock.now())).toEqual({ [COLLECTIONS.events]: 50 });
    expect(memory.docs(COLLECTIONS.events)).toHaveLength(0);
  });

  it('never deletes a document without a timestamp expiry, or outside the bookkeeping', async () => {
    const memory = new MemoryStore();
    const clock = manualClock();
    const past = new Date(clock.now().getTime() - DAY_MS);
    await memory.set(COLLECTIONS.events, 'null', { [EXPIRES_AT]: null });
    await memory.set(COLLECTIONS.events, 'string', { [EXPIRES_AT]: past.toISOString() });
    await memory.set(COLLECTIONS.events, 'none', { at: past.toISOString() });
    await memory.set(COLLECTIONS.runs, 'run', { [EXPIRES_AT]: past });
    await memory.set(COLLECTIONS.queue, 'entry', { [EXPIRES_AT]: past });
    await memory.set(COLLECTIONS.events, 'date', { [EXPIRES_AT]: past });
    // As Firestore: a range filter on a timestamp matches timestamps only.
    expect((await memory.query(COLLECTIONS.events, expiredQuery(clock.now()))).map((d) => d.id)).toEqual([
      'date',
    ]);
    expect(await sweepExpired(memory, clock.now())).toEqual({ [COLLECTIONS.events]: 1 });
    expect(memory.docs(COLLECTIONS.events)).toHaveLength(3);
    expect(memory.docs(COLLECTIONS.runs)).toHaveLength(1);
    expect(memory.docs(COLLECTIONS.queue)).toHaveLength(1);
  });
});
