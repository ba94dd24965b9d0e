import { describe, expect, it } from 'vitest';
import { backfill } from '../../scripts/lib/backfill.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { MemoryPublisher } from '../../shared/testing/memory-publisher.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import {
  backfillFigures,
  BACKFILL_QUIET_MS,
  formatEta,
  type BackfillProgress,
} from '../../shared/operations/backfill-progress.ts';

const progress = (over: Partial<BackfillProgress> = {}): BackfillProgress => ({
  backfillId: '2024-04-01_2024-04-30',
  from: '2024-04-01',
  to: '2024-04-30',
  total: 30,
  succeeded: 0,
  skipped: 0,
  failed: 0,
  blocked: 0,
  status: 'running',
  startedAt: '2026-03-01T12:00:00.000Z',
  updatedAt: '2026-03-01T12:00:00.000Z',
  last: null,
  failures: [],
  ...over,
});
const at = (iso: string) => new Date(iso);

describe('backfill progress figures (the CLI bar and the dashboard read them alike)', () => {
  it('has no ETA before a partition ran, then the rate of those that ran, skipped ones costing nothing', () => {
    expect(backfillFigures(progress(), at('2026-03-01T12:00:10.000Z')).etaSeconds).toBeNull();
    // 10 skipped at once, then 5 ran in 100 s: 15 left at 20 s each.
    const figures = backfillFigures(
      progress({ skipped: 10, succeeded: 4, failed: 1, updatedAt: '2026-03-01T12:01:40.000Z' }),
      at('2026-03-01T12:01:40.000Z'),
    );
    expect(figures).toEqual({
      done: 15,
      total: 30,
      failed: 1,
      blocked: 0,
      percent: 50,
      etaSeconds: 300,
      quiet: false,
    });
    expect(formatEta(figures.etaSeconds)).toBe('5 min 00 s');
  });

  it('counts blocked partitions out of what remains, and ends at 0 when finished', () => {
    const blocked = backfillFigures(
      progress({ succeeded: 10, failed: 1, blocked: 19, updatedAt: '2026-03-01T12:01:00.000Z' }),
      at('2026-03-01T12:01:00.000Z'),
    );
    expect(blocked.etaSeconds).toBe(0);
    expect(blocked.percent).toBe(36);
    expect(
      backfillFigures(progress({ succeeded: 30, status: 'finished' }), at('2026-03-02T00:00:00.000Z')),
    ).toMatchObject({
      percent: 100,
      etaSeconds: 0,
      quiet: false,
    });
  });

  it('says when a running backfill has gone quiet (its command may have died)', () => {
    const p = progress({ succeeded: 1, updatedAt: '2026-03-01T12:00:30.000Z' });
    const later = (ms: number) => new Date(Date.parse(p.updatedAt) + ms);
    expect(backfillFigures(p, later(BACKFILL_QUIET_MS)).quiet).toBe(false);
    expect(backfillFigures(p, later(BACKFILL_QUIET_MS + 1)).quiet).toBe(true);
    expect(backfillFigures({ ...p, status: 'interrupted' }, later(BACKFILL_QUIET_MS + 1)).quiet).toBe(false);
  });

  it('formats an ETA in hours, minutes or seconds', () => {
    expect(formatEta(null)).toBe('?');
    expect(formatEta(12)).toBe('12 s');
    expect(formatEta(3900)).toBe('1 h 05 min');
  });

  it('a progress write that fails never stops the backfill; the next one catches up, and the end is written', async () => {
    const store = new MemoryStore();
    const dates = ['2024-04-01', '2024-04-02', '2024-04-03'];
    const at = '2024-04-05T00:00:00.000Z';
    for (const d of dates)
      await store.set(COLLECTIONS.runs, `run-${d}`, {
        runId: `run-${d}`,
        requestMessageId: `m-${d}`,
        partition: d,
        triggerSource: 'manual',
        requestedBy: null,
        traceparent: '00-0-0-01',
        createdAt: at,
        updatedAt: at,
        status: 'SUCCESS',
        statusHistory: [],
        lastError: null,
        phaseOrder: [],
        phases: {},
        failures: {},
        gateFailures: {},
      });
    const set = store.set.bind(store);
    let failing = 2;
    store.set = (collection, id, data, options) =>
      collection === COLLECTIONS.backfills && failing-- > 0
        ? Promise.reject(new Error('14 UNAVAILABLE'))
        : set(collection, id, data, options);
    const errors: unknown[] = [];
    const result = await backfill(store, new MemoryPublisher(), {
      dates,
      concurrency: 1,
      dependencyKey: () => 'one chain',
      stateFile: `/tmp/phasegate-test-backfill-${process.pid}-${Date.now()}.json`,
      onProgressError: (error) => errors.push(error),
    });
    expect(result.skipped).toEqual(dates);
    expect(errors).toHaveLength(2);
    expect(await store.get(COLLECTIONS.backfills, '2024-04-01_2024-04-03')).toMatchObject({
      status: 'finished',
      total: 3,
      skipped: 3,
      last: '2024-04-03 already done',
    });
  });
});
