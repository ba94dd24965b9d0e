import { describe, expect, it } from 'vitest';
import { countQueue, pageQueue, queuePages } from '../../shared/recovery/queue-pages.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { makeQueueEntry } from '../support/factories.ts';
import { recordingQueries } from '../support/recording-store.ts';

/** `n` entries, ids in partition order: `e-0000` ... of 2024-04-01, 2024-04-02, ... cycling over `days`. */
async function seed(store: MemoryStore, n: number, status = 'failed_permanent', days = 1) {
  for (let i = 0; i < n; i += 1) {
    const id = `e-${String(i).padStart(4, '0')}`;
    const partition = `2024-04-${String((i % days) + 1).padStart(2, '0')}`;
    await store.set(COLLECTIONS.queue, id, makeQueueEntry({ requestId: id, status, partition }));
  }
}

describe('queue pages: a large match is read a page at a time, with a cursor', () => {
  it('hands out every entry exactly once, in id order, each query at most a page', async () => {
    const memory = new MemoryStore();
    await seed(memory, 1_205);
    const { store, queries } = recordingQueries(memory);
    const first = await pageQueue(store, { status: 'failed_permanent' }, { size: 500 });
    expect(first.entries).toHaveLength(500);
    expect(first.next).toBe('e-0499');
    const second = await pageQueue(store, { status: 'failed_permanent' }, { after: first.next, size: 500 });
    expect(second.entries[0]!.requestId).toBe('e-0500');
    const ids: string[] = [];
    for await (const page of queuePages(store, { status: 'failed_permanent' }, 500))
      ids.push(...page.map((e) => e.requestId));
    expect(ids).toHaveLength(1_205);
    expect(new Set(ids).size).toBe(1_205);
    expect(ids).toEqual([...ids].sort());
    expect(Math.max(...queries.map((q) => q.returned))).toBeLessThanOrEqual(500);
  });

  it('fills a page from the partition range, and the cursor is the last entry handed out', async () => {
    const memory = new MemoryStore();
    // Ten days cycling: one entry in ten is of 2024-04-03.
    await seed(memory, 100, 'failed_permanent', 10);
    const range = { from: '2024-04-03', to: '2024-04-03' };
    const page = await pageQueue(memory, range, { size: 4 });
    expect(page.entries.map((e) => e.requestId)).toEqual(['e-0002', 'e-0012', 'e-0022', 'e-0032']);
    expect(page.next).toBe('e-0032');
    const rest = await pageQueue(memory, range, { after: page.next, size: 100 });
    expect(rest.entries).toHaveLength(6);
    expect(rest.next).toBeUndefined();
    await expect(pageQueue(memory, range, { size: 0 })).rejects.toThrow(
      'a queue page holds at least 1 entry (got 0)',
    );
  });

  it('counts without a range in one aggregate, and with a range by reading the matches', async () => {
    const memory = new MemoryStore();
    await seed(memory, 30, 'failed_permanent', 3);
    await memory.set(COLLECTIONS.queue, 'z-open', makeQueueEntry({ requestId: 'z-open', status: 'pending' }));
    const { store, queries, counts } = recordingQueries(memory);
    expect(await countQueue(store, { status: 'failed_permanent' })).toBe(30);
    expect(queries).toEqual([]);
    expect(counts).toEqual([[{ field: 'status', op: '==', value: 'failed_permanent' }]]);
    expect(
      await countQueue(store, { status: 'failed_permanent', from: '2024-04-02', to: '2024-04-03' }),
    ).toBe(20);
    expect(queries.length).toBeGreaterThan(0);
  });

  it('refuses what Firestore would: id order with a range filter or another order', async () => {
    const memory = new MemoryStore();
    await expect(
      memory.query(COLLECTIONS.queue, { filters: [{ field: 'retryCount', op: '>', value: 1 }], byId: {} }),
    ).rejects.toThrow('takes equality filters only and no orderBy (got retryCount >)');
    await expect(memory.query(COLLECTIONS.queue, { orderBy: { field: 'status' }, byId: {} })).rejects.toThrow(
      'got orderBy status',
    );
  });
});
