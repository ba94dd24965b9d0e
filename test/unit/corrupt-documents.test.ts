import { afterEach, describe, expect, it, vi } from 'vitest';
import { reconcile } from '../../shared/operations/reconciler.ts';
import { runAutoRetryTick } from '../../shared/recovery/auto-retry.ts';
import { listQueue, retryNow } from '../../shared/recovery/queue-actions.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { recordFailure } from '../../shared/runtime/failure-queue.ts';
import { makeProcessorRequest } from '../support/factories.ts';
import { seedEntry, setup } from '../support/recovery-setup.ts';

/** What the kit reported on stderr about the documents it passed over. */
function reports() {
  const lines: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return lines;
}

afterEach(() => vi.restoreAllMocks());

describe('a corrupt document', () => {
  it('does not stop an auto-retry tick: the sound entries are retried, the corrupt one left as it is', async () => {
    const d = setup();
    const stderr = reports();
    await seedEntry(d.store);
    await seedEntry(d.store);
    const bad = await seedEntry(d.store, { retryCount: 'two' });
    const result = await runAutoRetryTick(d);
    expect(result.retried).toBe(2);
    expect(await d.store.get(COLLECTIONS.queue, bad.requestId)).toMatchObject({
      status: 'pending',
      retryCount: 'two',
    });
    expect(stderr.join('')).toContain(`failed_processor_queue/${bad.requestId} is corrupt: retryCount`);
  });

  it('is passed over by a listing, which names it on stderr', async () => {
    const d = setup();
    const stderr = reports();
    const good = await seedEntry(d.store);
    await seedEntry(d.store, { status: 'lost' });
    expect((await listQueue(d.store)).map((e) => e.requestId)).toEqual([good.requestId]);
    expect(stderr.join('')).toMatch(/is corrupt: status: Invalid option/);
  });

  it("is an error naming the field for a person's action on it", async () => {
    const d = setup();
    reports();
    const bad = await seedEntry(d.store, { phase: 7 });
    await expect(retryNow(d, bad.requestId, 'try')).rejects.toThrow(
      `failed_processor_queue/${bad.requestId} is corrupt: phase`,
    );
  });

  it('is replaced by a new failure of its request, its old content kept in the new entry', async () => {
    const d = setup();
    reports();
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
    const corrupt = { requestId: request.requestId, status: 'pending', retryCount: 'x' };
    await d.store.set(COLLECTIONS.queue, request.requestId, corrupt);
    const original = { messageId: '1', data: null, attributes: {}, subscription: null };
    const failure = {
      entryId: request.requestId,
      status: 'failed_permanent' as const,
      classification: { kind: 'permanent' as const, reason: 'schema' },
      error: { name: 'PermanentError', message: 'bad schema', stack: null },
      request,
      phase: 'alpha',
      original,
      failureEventId: 'e1',
      nextRetryAt: null,
      deadlineAt: null,
    };
    await recordFailure(d.store, failure, d.clock.now());
    const entry = await d.store.get(COLLECTIONS.queue, request.requestId);
    expect(entry).toMatchObject({ status: 'failed_permanent', lastError: 'bad schema', retryCount: 0 });
    expect(entry?.replacedCorruptEntry).toMatchObject({ document: corrupt });
    expect(String((entry?.replacedCorruptEntry as { error: string }).error)).toContain('is corrupt');
  });

  it('does not stop a reconcile tick: a corrupt outbox entry is passed over, a sound one still sent', async () => {
    const d = setup();
    const stderr = reports();
    const old = '2000-01-01T00:00:00.000Z';
    const entry = { decisionId: 'd', runId: 'r', topic: 'phase-alpha', message: {}, status: 'pending' };
    await d.store.set(COLLECTIONS.outbox, 'bad', {
      ...entry,
      id: 'bad',
      attributes: { n: 1 },
      createdAt: old,
      sentAt: null,
    });
    await d.store.set(COLLECTIONS.outbox, 'good', {
      ...entry,
      id: 'good',
      attributes: {},
      createdAt: old,
      sentAt: null,
    });
    const result = await reconcile(d);
    expect(result.outboxResent).toBe(1);
    expect(d.publisher.published.map((p) => p.topic)).toEqual(['phase-alpha']);
    expect(await d.store.get(COLLECTIONS.outbox, 'bad')).toMatchObject({ status: 'pending' });
    expect(stderr.join('')).toContain('outbox/bad is corrupt: attributes.n');
  });

  it('or any failure of one reconcile step lets the other steps run, then fails the tick', async () => {
    const d = setup();
    const stderr = reports();
    const store = d.store;
    const failing = Object.assign(Object.create(store) as typeof store, {
      query: (collection: string, options?: Parameters<typeof store.query>[1]) =>
        collection === COLLECTIONS.outbox
          ? Promise.reject(new Error('14 UNAVAILABLE: outbox down'))
          : store.query(collection, options),
    });
    await expect(reconcile({ ...d, store: failing })).rejects.toThrow(
      'reconcile tick: 1 step(s) failed: outbox: 14 UNAVAILABLE: outbox down',
    );
    expect(d.logger.lines.map((l) => l.message)).toContain('reconcile tick');
    expect(stderr).toEqual([]);
  });
});
