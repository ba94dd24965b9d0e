import { describe, expect, it, vi } from 'vitest';
import { createFaultInjector } from '../../shared/runtime/faults.ts';
import { canonical, compareSnapshots, type Snapshot } from '../../scripts/lib/chaos-compare.ts';
import { seededRandom } from '../../scripts/lib/seeded.ts';

const snap = (docs: Record<string, Record<string, unknown>>): Snapshot =>
  new Map([['series_state', new Map(Object.entries(docs).map(([id, d]) => [id, canonical(d)]))]]);

describe('chaos soak verdict', () => {
  it('ignores which run wrote a document and when, but nothing else', () => {
    expect(
      canonical({ wins: { BOS: 2 }, runId: 'r1', updatedAt: 'x', madeForRunId: 'r1', fetchedAt: 'y' }),
    ).toBe(canonical({ runId: 'r2', wins: { BOS: 2 }, updatedAt: 'z' }));
    expect(canonical({ wins: { BOS: 2 } })).not.toBe(canonical({ wins: { BOS: 3 } }));
  });

  it('finds a lost document, a duplicate and a double count', () => {
    const reference = snap({ a: { wins: 1 }, b: { wins: 2 }, c: { wins: 1 } });
    const faulty = snap({ a: { wins: 1, runId: 'other' }, b: { wins: 4 }, d: { wins: 1 } });
    expect(compareSnapshots(reference, faulty)).toEqual([
      { collection: 'series_state', id: 'b', kind: 'different' },
      { collection: 'series_state', id: 'c', kind: 'lost' },
      { collection: 'series_state', id: 'd', kind: 'duplicate' },
    ]);
    expect(compareSnapshots(reference, reference)).toEqual([]);
  });

  it('draws the same faults from the same seed', () => {
    const draw = (seed: number) => {
      const r = seededRandom(seed);
      return [r.int(1, 100), r.pick(['a', 'b', 'c']), r.sample([1, 2, 3, 4, 5], 3)];
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });
});

describe('slow handler fault', () => {
  it('delays the named processor its configured number of times, and no other', async () => {
    vi.useFakeTimers();
    try {
      const faults = createFaultInjector({
        slowHandlers: [{ processor: 'team-form', delayMs: 25_000, times: 1 }],
      });
      let done = false;
      const slow = faults.delay('team-form').then(() => (done = true));
      await vi.advanceTimersByTimeAsync(24_999);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await slow;
      expect(done).toBe(true);
      let again = false;
      await faults.delay('team-form').then(() => (again = true));
      await faults.delay('game-features');
      expect(again).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
