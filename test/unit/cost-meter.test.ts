import { EventEmitter } from 'node:events';
import type * as functions from '@google-cloud/functions-framework';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCostMeter, meteredHttp } from '../../shared/adapters/cost-meter.ts';
import { countReads } from '../../shared/cost/billing-rules.ts';
import type { DocumentStore, Transaction } from '../../shared/ports/store.ts';
import { MemoryPublisher, MemoryStore } from '../../shared/testing/index.ts';

const seeded = async (docs: number): Promise<MemoryStore> => {
  const store = new MemoryStore();
  await store.writeBatch(
    Array.from({ length: docs }, (_, i) => ({ collection: 'items', id: `i${i}`, data: { kind: 'a', n: i } })),
  );
  return store;
};

describe('the cost meter counts Firestore as Google bills it', () => {
  it('a get is one read, found or missing; getMany one read per id asked', async () => {
    const meter = createCostMeter();
    const store = meter.store(await seeded(2));
    await store.get('items', 'i0');
    await store.get('items', 'missing');
    await store.getMany('items', ['i0', 'i1', 'nope']);
    expect(meter.counts.firestore).toEqual({ items: { reads: 5, writes: 0, deletes: 0, refusedWrites: 0 } });
  });

  it('a query is one read per document returned and at least one; a count one per 1,000 entries, at least one', async () => {
    const meter = createCostMeter();
    const store = meter.store(await seeded(2500));
    await store.query('items', { filters: [{ field: 'kind', op: '==', value: 'none' }] });
    await store.query('items', { limit: 7 });
    await store.countWhere('items', [{ field: 'kind', op: '==', value: 'none' }]);
    await store.countWhere('items', [{ field: 'n', op: '<', value: 1000 }]);
    await store.countWhere('items', [{ field: 'n', op: '<', value: 1001 }]);
    await store.countWhere('items', []);
    // 1 (empty) + 7 + counts: 0 -> 1, 1000 -> 1, 1001 -> 2, 2500 -> 3
    expect(meter.counts.firestore.items?.reads).toBe(1 + 7 + 1 + 1 + 2 + 3);
  });

  it('every document written is a write, by collection; a write refused by its precondition is counted apart', async () => {
    const meter = createCostMeter();
    const store = meter.store(new MemoryStore());
    await store.set('runs', 'r1', { a: 1 });
    await store.set('runs', 'r1', { b: 2 }, { merge: true });
    expect(await store.update('runs', 'r1', { c: 3 })).toBe(true);
    expect(await store.update('runs', 'nope', { c: 3 })).toBe(false);
    expect(await store.create('claims', 'c1', {})).toBe(true);
    expect(await store.create('claims', 'c1', {})).toBe(false);
    const alongside = [
      { collection: 'events', id: 'e1', data: {} },
      { collection: 'runs', id: 'r3', data: {} },
    ];
    expect(await store.createWith({ collection: 'claims', id: 'c2', data: {} }, alongside)).toBe(true);
    expect(await store.createWith({ collection: 'claims', id: 'c2', data: {} }, alongside)).toBe(false);
    await store.writeBatch([
      { collection: 'games', id: 'g1', data: {} },
      { collection: 'games', id: 'g2', data: {} },
      { collection: 'runs', id: 'r2', data: {} },
    ]);
    expect(meter.counts.firestore).toEqual({
      runs: { reads: 0, writes: 5, deletes: 0, refusedWrites: 2 },
      claims: { reads: 0, writes: 2, deletes: 0, refusedWrites: 2 },
      events: { reads: 0, writes: 1, deletes: 0, refusedWrites: 1 },
      games: { reads: 0, writes: 2, deletes: 0, refusedWrites: 0 },
    });
  });

  it("a transaction's reads count on every attempt, its writes and deletes once, when it commits", async () => {
    const memory = await seeded(1);
    // Contention: the first attempt runs and is thrown away, as Firestore aborts and retries.
    const contended: DocumentStore = Object.assign(Object.create(memory) as MemoryStore, {
      async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
        await fn({
          get: (c, id) => memory.get(c, id),
          getAll: (refs) => Promise.all(refs.map((r) => memory.get(r.collection, r.id))),
          set: () => undefined,
          delete: () => undefined,
        });
        return memory.transaction(fn);
      },
    });
    const meter = createCostMeter();
    const store = meter.store(contended);
    const result = await store.transaction(async (tx) => {
      await tx.get('items', 'i0');
      await tx.get('runs', 'r1');
      tx.set('runs', 'r1', { status: 'RUNNING' });
      tx.set('events', 'e1', {});
      tx.delete('items', 'i0');
      return 'done';
    });
    expect(result).toBe('done');
    expect(meter.counts.firestore).toEqual({
      items: { reads: 2, writes: 0, deletes: 1, refusedWrites: 0 },
      runs: { reads: 2, writes: 1, deletes: 0, refusedWrites: 0 },
      events: { reads: 0, writes: 1, deletes: 0, refusedWrites: 0 },
    });
    expect(await memory.get('items', 'i0')).toBeUndefined();
    expect(await memory.get('runs', 'r1')).toEqual({ status: 'RUNNING' });
  });

  it('a count of n entries is ceil(n / 1000) reads, at least one', () => {
    fc.assert(
      fc.property(fc.nat(1_000_000), (n) => {
        const reads = countReads(n);
        expect(reads).toBeGreaterThanOrEqual(1);
        expect(reads * 1000).toBeGreaterThanOrEqual(n);
        expect((reads - 1) * 1000).toBeLessThan(Math.max(n, 1));
      }),
    );
  });
});

describe('the cost meter counts Pub/Sub and invocations as Google bills them', () => {
  it('a publish counts its data, attributes, 20 bytes of timestamp and its id; at least 1,000 bytes billed', async () => {
    const meter = createCostMeter();
    const publisher = meter.publisher(new MemoryPublisher());
    const id = await publisher.publish('t', { a: 1 }, { key: 'value' });
    const big = { text: 'x'.repeat(5000) };
    const bigId = await publisher.publish('t', big);
    const small = '{"a":1}'.length + 'keyvalue'.length + 20 + id.length;
    const large = JSON.stringify(big).length + 20 + bigId.length;
    expect(meter.counts.publishes).toEqual({ requests: 2, bytes: small + large, billedBytes: 1000 + large });
  });

  it('a push request counts as a delivery with its decoded volume, and every request as an invocation with its time', () => {
    let clock = 0;
    const meter = createCostMeter({ now: () => clock });
    const data = Buffer.from('{"partition":"2024-04-21"}');
    const end = meter.invocation('phase-raw', {
      message: { data: data.toString('base64'), messageId: 'm-12', attributes: { a: 'bc' } },
      subscription: 'projects/p/subscriptions/phase-raw-sub',
    });
    clock = 130;
    end();
    end();
    const page = meter.invocation('dashboard', undefined);
    clock = 150;
    page();
    expect(meter.counts.deliveries).toEqual({
      requests: 1,
      bytes: data.length + 3 + 20 + 4,
      billedBytes: 1000,
    });
    expect(meter.counts.invocations).toEqual({
      'phase-raw': { count: 1, handlerMs: 130, billedMs: 200 },
      dashboard: { count: 1, handlerMs: 20, billedMs: 100 },
    });
  });

  it('an HTTP function counts its invocation when its answer is sent', () => {
    const meter = createCostMeter({ now: () => 0 });
    const res = new EventEmitter();
    const calls: string[] = [];
    const handler = meteredHttp(meter, 'phase-raw', () => calls.push('handled'));
    handler({ body: {} } as functions.Request, res as unknown as functions.Response);
    expect(calls).toEqual(['handled']);
    expect(meter.counts.invocations).toEqual({});
    res.emit('finish');
    res.emit('close');
    expect(meter.counts.invocations['phase-raw']?.count).toBe(1);
  });
});
