import { describe, expect, it } from 'vitest';
import { DOMAIN } from '../../functions/pipeline/collections.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { backfill, startReferenceHarness, type ReferenceHarness } from '../support/reference-harness.ts';

const DATES = ['2024-04-20', '2024-04-21', '2024-04-22', '2024-04-23', '2024-04-24'];

/** The order-independent part of what a backfill produces: form, features and predictions. */
async function snapshot(h: ReferenceHarness) {
  const strip = ({
    runId: _r,
    updatedAt: _u,
    madeForRunId: _m,
    gradedAt: _g,
    ...rest
  }: Record<string, unknown>) => rest;
  const all = async (collection: string) =>
    Object.fromEntries((await h.store.query(collection)).map((d) => [d.id, strip(d.data)]));
  return {
    form: await all(DOMAIN.teamForm),
    features: await all(DOMAIN.gameFeatures),
    predictions: await all(DOMAIN.predictions),
    series: await all(DOMAIN.seriesState),
  };
}

async function backfillIn(label: string, order: readonly string[]) {
  const h = await startReferenceHarness(label);
  try {
    await backfill(h, order, (d) => `bf-${d}`);
    const waited = (await h.store.query(COLLECTIONS.queue)).map((d) => d.data);
    return { snapshot: await snapshot(h), waited };
  } finally {
    await h.stop();
  }
}

describe('backfilling a season out of order', () => {
  it('gives the same form, features, series and predictions as in order', async () => {
    const inOrder = await backfillIn('in-order', DATES);
    const shuffled = await backfillIn('out-of-order', [
      '2024-04-23',
      '2024-04-21',
      '2024-04-24',
      '2024-04-20',
      '2024-04-22',
    ]);
    expect(inOrder.waited).toEqual([]);
    // Out of order, later dates really did wait for earlier ones (a checked dependency, not luck).
    expect(shuffled.waited.length).toBeGreaterThan(0);
    expect(shuffled.waited.every((e) => e.errorType === 'not_ready')).toBe(true);
    expect(Object.keys(inOrder.snapshot.form).length).toBeGreaterThan(20);
    expect(Object.keys(inOrder.snapshot.predictions).length).toBeGreaterThan(10);
    expect(shuffled.snapshot).toEqual(inOrder.snapshot);
  });
});
