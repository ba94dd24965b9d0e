import { describe, expect, it } from 'vitest';
import { SupersededError } from '../../shared/orchestration/generation.ts';
import type { DocWrite } from '../../shared/ports/store.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { createWriter } from '../../shared/runtime/writer.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { manualClock } from '../support/factories.ts';

const run = { runId: 'run-1', partition: '2024-04-21' };
const spec = { name: 'widgets', outputs: [{ collection: 'widgets' }, { collection: 'executions' }] };
const record: DocWrite = { collection: COLLECTIONS.processorRuns, id: 'r1', data: { status: 'completed' } };
const widgets = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ id: `w${from + i}`, data: { index: from + i } }));

/** The store, and the number of writes of each transaction it committed, in order. */
function storeWithCommits() {
  const store = new MemoryStore();
  const commits: number[] = [];
  const transaction = store.transaction.bind(store);
  store.transaction = (fn) =>
    transaction(async (tx) => {
      let writes = 0;
      const result = await fn({ ...tx, set: (c, id, d, o) => ((writes += 1), tx.set(c, id, d, o)) });
      commits.push(writes);
      return result;
    });
  return { store, commits };
}

describe('the writes of one attempt', () => {
  it('commit at the end with the completion record; only a transaction’s worth commits before', async () => {
    const { store, commits } = storeWithCommits();
    const writer = createWriter(store, run, spec, manualClock());
    await writer.write('widgets', widgets(1_200));
    expect(commits).toEqual([500, 500]);
    expect(store.docs('widgets')).toHaveLength(1_000);
    await writer.commit([record]);
    expect(commits).toEqual([500, 500, 201]);
    expect(store.docs('widgets')).toHaveLength(1_200);
    expect(store.docs('widgets').every((d) => d.runId === run.runId)).toBe(true);
    expect(writer.records()).toEqual({ widgets: 1_200, executions: 0 });
  });

  it('a record that does not fit beside the rest commits after it, never before', async () => {
    const { store, commits } = storeWithCommits();
    const writer = createWriter(store, run, spec, manualClock());
    await writer.write('widgets', widgets(499));
    await writer.commit([record, { ...record, id: 'r2' }]);
    expect(commits).toEqual([499, 2]);
  });

  it('a document written twice is one write in the one commit, with the effect of both in order', async () => {
    const { store, commits } = storeWithCommits();
    const writer = createWriter(store, run, spec, manualClock());
    await writer.write('widgets', [{ id: 'w1', data: { a: 1, b: 1 } }, ...widgets(2, 2)]);
    await writer.write('widgets', [{ id: 'w1', data: { b: 2 } }], { merge: true });
    await writer.commit([record]);
    expect(commits).toEqual([4]);
    expect(await store.get('widgets', 'w1')).toMatchObject({ a: 1, b: 2 });
    expect(writer.records()).toEqual({ widgets: 3, executions: 0 });
  });

  it('folds repeated writes as Firestore applies them: merges merge nested maps, a set replaces', async () => {
    const { store, commits } = storeWithCommits();
    await store.set('widgets', 'w1', { kept: true, m: { old: 1 } });
    await store.set('widgets', 'w2', { gone: true });
    const writer = createWriter(store, run, spec, manualClock());
    await writer.write('widgets', [{ id: 'w1', data: { m: { x: 1 }, list: [1, 2] } }], { merge: true });
    await writer.write('widgets', [{ id: 'w1', data: { m: { y: 2 }, list: [3] } }], { merge: true });
    await writer.write('widgets', [{ id: 'w2', data: { m: { x: 1 } } }], { merge: true });
    await writer.write('widgets', [{ id: 'w2', data: { only: 'this' } }]);
    await writer.commit([record]);
    expect(commits).toEqual([3]);
    expect(await store.get('widgets', 'w1')).toMatchObject({
      kept: true,
      m: { old: 1, x: 1, y: 2 },
      list: [3],
    });
    const w2 = await store.get('widgets', 'w2');
    expect(w2).toMatchObject({ only: 'this' });
    expect(w2).not.toHaveProperty('gone');
    expect(w2).not.toHaveProperty('m');
  });

  it('writes nothing, record included, for a run superseded before the commit', async () => {
    const { store } = storeWithCommits();
    const writer = createWriter(store, run, spec, manualClock());
    await writer.write('widgets', widgets(3));
    await store.set(COLLECTIONS.runLocks, run.partition, { runId: 'run-2' });
    await expect(writer.commit([record])).rejects.toBeInstanceOf(SupersededError);
    expect(store.docs('widgets')).toEqual([]);
    expect(store.docs(COLLECTIONS.processorRuns)).toEqual([]);
  });
});
