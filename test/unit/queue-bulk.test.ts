import { describe, expect, it } from 'vitest';
import { phaseTopic } from '../../shared/messages/messages.ts';
import { pausePipeline } from '../../shared/operations/pause.ts';
import { QueueActionError } from '../../shared/recovery/queue-actions.ts';
import {
  applyBulk,
  BulkInterruptedError,
  bulkFilter,
  previewBulk,
} from '../../shared/recovery/queue-bulk.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { seedEntry, setup } from '../support/recovery-setup.ts';
import { describeInterrupted } from '../../scripts/cli/queue-bulk-command.ts';

type D = ReturnType<typeof setup>;
const statusOf = async (d: D, id: string) => (await d.store.get(COLLECTIONS.queue, id))?.status;
const compare = (a: string, b: string) => a.localeCompare(b);

/** Entries of three days, two processors, two kinds of error, open and closed. */
async function seedMix(d: D) {
  const e = {
    may1: await seedEntry(d.store, {
      partition: '2024-05-01',
      status: 'failed_permanent',
      errorType: 'permanent',
    }),
    may2: await seedEntry(d.store, { partition: '2024-05-02', status: 'pending' }),
    may2gadgets: await seedEntry(d.store, {
      partition: '2024-05-02',
      status: 'failed_permanent',
      processor: 'gadgets',
    }),
    may3retrying: await seedEntry(d.store, { partition: '2024-05-03', status: 'retrying' }),
    may3done: await seedEntry(d.store, { partition: '2024-05-03', status: 'succeeded' }),
    june: await seedEntry(d.store, { partition: '2024-06-01', status: 'failed_permanent' }),
  };
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v.requestId])) as Record<
    keyof typeof e,
    string
  >;
}

describe('bulk queue actions by filter', () => {
  it('a dry run counts and samples exactly the entries the action would take, changing nothing', async () => {
    const d = setup();
    const ids = await seedMix(d);
    const filter = bulkFilter('retry', { from: '2024-05-01', to: '2024-05-31', compare });
    const preview = await previewBulk(d, filter, 2);
    // Not the retrying one (its retry is under way), not the closed one, not June.
    expect(preview.matched).toBe(3);
    expect(preview.sample).toHaveLength(2);
    for (const entry of preview.sample)
      expect([ids.may1, ids.may2, ids.may2gadgets]).toContain(entry.requestId);
    expect(await statusOf(d, ids.may1)).toBe('failed_permanent');
    expect(d.publisher.published).toHaveLength(0);
    // resolve and discard take every open entry, retrying ones too.
    expect(
      (await previewBulk(d, bulkFilter('discard', { from: '2024-05-01', to: '2024-05-31', compare })))
        .matched,
    ).toBe(4);
  });

  it('retries every match, one transaction and event each, and leaves the rest alone', async () => {
    const d = setup();
    const ids = await seedMix(d);
    const result = await applyBulk(
      d,
      'retry',
      bulkFilter('retry', { processor: 'widgets', errorType: 'transient' }),
      'provider back',
    );
    expect(result.done.sort()).toEqual([ids.may2, ids.june].sort());
    expect(d.publisher.on(phaseTopic('alpha'))).toHaveLength(2);
    expect(await statusOf(d, ids.may2)).toBe('retrying');
    expect(await statusOf(d, ids.may1)).toBe('failed_permanent'); // errorType permanent
    expect(await statusOf(d, ids.may2gadgets)).toBe('failed_permanent'); // another processor
    const events = await d.store.query(COLLECTIONS.events, {
      filters: [{ field: 'requestId', op: '==', value: ids.june }],
    });
    expect(events.map((e) => e.data.message)).toContain('manual retry: provider back');
  });

  it('resolves and discards by status, phase and range; a closed status is refused before anything is read', async () => {
    const d = setup();
    const ids = await seedMix(d);
    const discarded = await applyBulk(
      d,
      'discard',
      bulkFilter('discard', {
        status: 'failed_permanent',
        phase: 'alpha',
        from: '2024-05-01',
        to: '2024-05-02',
        compare,
      }),
      'test data',
    );
    expect(discarded.done.sort()).toEqual([ids.may1, ids.may2gadgets].sort());
    expect(await d.store.get(COLLECTIONS.queue, ids.may1)).toMatchObject({
      status: 'discarded',
      note: 'test data',
    });
    expect(await statusOf(d, ids.june)).toBe('failed_permanent');
    const resolved = await applyBulk(
      d,
      'resolve',
      bulkFilter('resolve', { from: '2024-05-03', to: '2024-05-03', compare }),
      'fixed by hand',
    );
    expect(resolved.done).toEqual([ids.may3retrying]);
    expect(await statusOf(d, ids.may3done)).toBe('succeeded');
    expect(() => bulkFilter('retry', { status: 'succeeded' })).toThrow(QueueActionError);
    expect(() => bulkFilter('retry', { status: 'succeeded' })).toThrow(/succeeded entries are closed/);
  });

  it('skips with the reason an entry that cannot be acted on, and goes on', async () => {
    const d = setup();
    const ok = await seedEntry(d.store, { status: 'failed_permanent' });
    const unparsed = await seedEntry(d.store, {
      status: 'failed_permanent',
      request: null,
      retryTarget: null,
    });
    const result = await applyBulk(d, 'retry', bulkFilter('retry', { status: 'failed_permanent' }), 'go');
    expect(result.done).toEqual([ok.requestId]);
    expect(result.skipped.map((s) => s.requestId)).toEqual([unparsed.requestId]);
    expect(result.skipped[0]!.reason).toMatch(/no request to re-publish/);
  });

  it('a publish outage part way stops with what was done; the same command again takes the rest, none twice', async () => {
    const d = setup();
    for (let i = 0; i < 4; i += 1) await seedEntry(d.store, { status: 'failed_permanent' });
    const filter = bulkFilter('retry', { status: 'failed_permanent' });
    // The first retry goes out, the second's publish fails (its transaction already moved it to retrying).
    let calls = 0;
    const publish = d.publisher.publish.bind(d.publisher);
    d.publisher.publish = (...args) =>
      ++calls === 2 ? Promise.reject(new Error('14 UNAVAILABLE')) : publish(...args);
    const error = await applyBulk(d, 'retry', filter, 'go').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkInterruptedError);
    expect((error as BulkInterruptedError).result.done).toHaveLength(1);
    expect((error as Error).message).toMatch(
      /retry stopped after 1 entries .*14 UNAVAILABLE; the same command again takes the rest/,
    );
    // The command line says what was done before it stopped.
    expect(describeInterrupted(error as BulkInterruptedError)).toMatch(
      new RegExp(
        `^phasegate: retry stopped after 1 entries .*\\ndone: ${(error as BulkInterruptedError).result.done[0]}\\n$`,
      ),
    );
    const rest = await applyBulk(d, 'retry', filter, 'go');
    expect(rest.done).toHaveLength(2);
    expect(d.publisher.on(phaseTopic('alpha'))).toHaveLength(3);
  });

  it('skips an entry that a tick claimed after the page was read: no second publish of its retry', async () => {
    const d = setup();
    const a = await seedEntry(d.store, { status: 'pending' });
    const b = await seedEntry(d.store, { status: 'pending' });
    const query = d.store.query.bind(d.store);
    // The page is read; then auto-retry claims b (retrying, published) before the bulk action reaches it.
    d.store.query = async (...args) => {
      const docs = await query(...args);
      if (args[0] === COLLECTIONS.queue)
        await d.store.set(COLLECTIONS.queue, b.requestId, { status: 'retrying' }, { merge: true });
      return docs;
    };
    const result = await applyBulk(d, 'retry', bulkFilter('retry', {}), 'go');
    expect(result.done).toEqual([a.requestId]);
    expect(result.skipped).toEqual([
      {
        requestId: b.requestId,
        reason: `entry "${b.requestId}" is retrying now: it changed since it was read`,
      },
    ]);
    expect(d.publisher.on(phaseTopic('alpha'))).toHaveLength(1);
  });

  it('retries nothing while the pipeline is paused', async () => {
    const d = setup();
    const entry = await seedEntry(d.store, { status: 'failed_permanent' });
    await pausePipeline(d, { by: 'cli:ops', note: 'maintenance' });
    await expect(applyBulk(d, 'retry', bulkFilter('retry', {}), 'go')).rejects.toThrow(/paused/);
    expect(await statusOf(d, entry.requestId)).toBe('failed_permanent');
  });
});
