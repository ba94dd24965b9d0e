import { describe, expect, it } from 'vitest';
import { phaseTopic } from '../../shared/messages/messages.ts';
import {
  discardEntry,
  listQueue,
  requeueRange,
  resolveEntry,
  retryNow,
  showEntry,
} from '../../shared/recovery/queue-actions.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { makeQueueEntry } from '../support/factories.ts';
import { seedEntry, setup } from '../support/recovery-setup.ts';

describe('manual recovery', () => {
  it('retry now, resolve, discard and requeue are transitions with events; final entries refuse changes', async () => {
    const d = setup();
    const failed = await seedEntry(d.store, { status: 'failed_permanent', partition: '2024-04-21' });
    const other = await seedEntry(d.store, { status: 'failed_permanent', partition: '2024-05-01' });
    await retryNow(d, failed.requestId, 'fixed the schema');
    expect(await d.store.get(COLLECTIONS.queue, failed.requestId)).toMatchObject({
      status: 'retrying',
      note: 'fixed the schema',
      retryCount: 1,
    });
    expect(d.publisher.on(phaseTopic('alpha'))).toHaveLength(1);
    await resolveEntry(d, failed.requestId, 'reran by hand');
    await expect(discardEntry(d, failed.requestId, 'oops')).rejects.toThrow(
      /is succeeded; discarded applies to pending, waiting, retrying, failed_permanent/,
    );
    expect(await requeueRange(d, '2024-04-01', '2024-04-30', 'outage over')).toEqual([]);
    expect(await requeueRange(d, '2024-05-01', '2024-05-31', 'outage over')).toEqual([other.requestId]);
    expect(await d.store.get(COLLECTIONS.queue, other.requestId)).toMatchObject({
      status: 'pending',
      retryCount: 0,
    });
    const { events } = await showEntry(d.store, failed.requestId);
    expect(events.map((e) => e.type)).toEqual(['retry_started', 'queue_resolved']);
    expect(events.every((e) => e.parentEventId === failed.failureEventId)).toBe(true);
    expect((await listQueue(d.store, { status: 'pending' })).map((e) => e.requestId)).toEqual([
      other.requestId,
    ]);
  });

  it('requeues a whole range however large it is: nothing is cut at a page size without saying so', async () => {
    const d = setup();
    for (let i = 0; i < 1_005; i += 1)
      await seedEntry(d.store, { status: 'failed_permanent', partition: '2024-04-21' });
    expect(await listQueue(d.store, { status: 'failed_permanent' })).toHaveLength(1_005);
    expect(await listQueue(d.store, { status: 'failed_permanent', limit: 10 })).toHaveLength(10);
    expect(await requeueRange(d, '2024-04-21', '2024-04-21', 'outage over')).toHaveLength(1_005);
    expect(await listQueue(d.store, { status: 'pending' })).toHaveLength(1_005);
  });

  it("lists a range of partitions in the scheme's order, not string order", async () => {
    const d = setup();
    for (const partition of ['r-2', 'r-9', 'r-10', 'r-11'])
      await d.store.set(
        COLLECTIONS.queue,
        `e-${partition}`,
        makeQueueEntry({
          requestId: `e-${partition}`,
          status: 'pending',
          partition,
          firstFailedAt: partition,
        }),
      );
    const numeric = (a: string, b: string) => Number(a.slice(2)) - Number(b.slice(2));
    const listed = await listQueue(d.store, { from: 'r-2', to: 'r-10', compare: numeric });
    expect(listed.map((e) => e.partition).sort()).toEqual(['r-10', 'r-2', 'r-9']);
    // In string order r-10 sorts before r-2: the same range would hold nothing.
    expect(await listQueue(d.store, { from: 'r-2', to: 'r-10' })).toEqual([]);
  });

  it('refuses to retry an entry whose payload never parsed', async () => {
    const d = setup();
    await d.store.set(
      COLLECTIONS.queue,
      'msg-9',
      makeQueueEntry({
        requestId: 'msg-9',
        status: 'failed_permanent',
        request: null,
        retryCount: 0,
        phase: 'alpha',
      }),
    );
    await expect(retryNow(d, 'msg-9', 'try')).rejects.toThrow(/never parsed/);
    await expect(retryNow(d, 'nope', 'try')).rejects.toThrow('no queue entry "nope"');
  });
});
