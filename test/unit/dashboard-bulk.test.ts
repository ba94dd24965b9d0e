import { describe, expect, it } from 'vitest';
import { loadDashboardAuth } from '../../shared/operations/dashboard/auth.ts';
import { createDashboard } from '../../shared/operations/dashboard/handler.ts';
import { DASHBOARD_BULK_MAX } from '../../shared/operations/dashboard/queue-bulk-action.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { seedEntry, setup } from '../support/recovery-setup.ts';

const READ = 'read-token-0123456789';
const ACT = 'act-token-0123456789ab';

function page() {
  const d = setup();
  const handle = createDashboard({
    ...d,
    auth: loadDashboardAuth({
      DASHBOARD_AUTH: 'token',
      DASHBOARD_READ_TOKEN: READ,
      DASHBOARD_ACT_TOKEN: ACT,
    }),
  });
  const post = async (body: unknown, token = ACT) => {
    const res = await handle({
      method: 'POST',
      path: '/api/queue/bulk',
      query: {},
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });
    return { status: res.status, body: JSON.parse(res.body) as Record<string, unknown> };
  };
  return { d, post };
}

describe('dashboard: bulk queue actions', () => {
  it('previews the count and a sample, then acts on each match with the note; a read token acts on nothing', async () => {
    const { d, post } = page();
    const a = await seedEntry(d.store, { status: 'failed_permanent', partition: '2024-05-01' });
    const b = await seedEntry(d.store, { status: 'failed_permanent', partition: '2024-05-02' });
    const june = await seedEntry(d.store, { status: 'failed_permanent', partition: '2024-06-01' });
    const filter = { status: 'failed_permanent', from: '2024-05-01', to: '2024-05-31', errorType: '' };
    const preview = await post({ action: 'discard', dryRun: true, filter });
    expect(preview.status).toBe(200);
    expect(preview.body.matched).toBe(2);
    expect((preview.body.sample as { requestId: string }[]).map((e) => e.requestId).sort()).toEqual(
      [a.requestId, b.requestId].sort(),
    );
    expect((await post({ action: 'discard', filter, note: 'test data' }, READ)).status).toBe(403);
    expect((await post({ action: 'discard', filter })).status).toBe(400);
    // Confirmed 3 when 2 match (another entry closed meanwhile): refused, nothing changed.
    const stale = await post({ action: 'discard', filter, note: 'test data', expected: 3 });
    expect(stale.status).toBe(409);
    expect(String(stale.body.message)).toBe('2 entries match now, not the 3 you confirmed: preview again');
    const done = await post({ action: 'discard', filter, note: 'test data', expected: 2 });
    expect(done.status).toBe(200);
    expect((done.body.done as string[]).sort()).toEqual([a.requestId, b.requestId].sort());
    expect(await d.store.get(COLLECTIONS.queue, a.requestId)).toMatchObject({
      status: 'discarded',
      note: 'test data',
    });
    expect(await d.store.get(COLLECTIONS.queue, june.requestId)).toMatchObject({
      status: 'failed_permanent',
    });
  });

  it('refuses no filter, a bad partition, a closed status, and more than the page acts on (naming the CLI command)', async () => {
    const { d, post } = page();
    const none = await post({ action: 'retry', filter: { phase: ' ' }, note: 'x' });
    expect(none).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/at least one filter/) as unknown },
    });
    const bad = await post({ action: 'retry', filter: { from: '2024-13-01' }, note: 'x' });
    expect(bad.status).toBe(400);
    expect(String(bad.body.message)).toContain('from "2024-13-01"');
    const closed = await post({ action: 'retry', filter: { status: 'succeeded' }, note: 'x' });
    expect(closed.status).toBe(409);
    expect((await post({ action: 'explode', filter: { phase: 'alpha' }, note: 'x' })).status).toBe(400);
    for (let i = 0; i <= DASHBOARD_BULK_MAX; i += 1) await seedEntry(d.store, { status: 'pending' });
    const many = await post({ action: 'resolve', filter: { phase: 'alpha' }, note: 'fixed' });
    expect(many.status).toBe(413);
    expect(String(many.body.message)).toContain("run phasegate queue resolve --phase 'alpha' --note '<why>'");
    expect(
      await d.store.countWhere(COLLECTIONS.queue, [{ field: 'status', op: '==', value: 'succeeded' }]),
    ).toBe(0);
  });
});
