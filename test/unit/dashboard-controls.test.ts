import { describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { loadDashboardAuth } from '../../shared/operations/dashboard/auth.ts';
import { createDashboard } from '../../shared/operations/dashboard/handler.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { pubsubEvent } from '../support/factories.ts';
import { rid, world } from '../support/orchestrator-world.ts';

const READ = 'read-token-0123456789';
const ACT = 'act-token-0123456789ab';

/** The dashboard over an orchestrator world: what the page's buttons do is what the CLI's commands do. */
function controls() {
  const w = world();
  const handle = createDashboard({
    definition: testDefinition,
    store: w.store,
    publisher: w.publisher,
    clock: w.clock,
    logger: createMemoryLogger(),
    auth: loadDashboardAuth({
      DASHBOARD_AUTH: 'token',
      DASHBOARD_READ_TOKEN: READ,
      DASHBOARD_ACT_TOKEN: ACT,
    }),
  });
  const post = (path: string, body: unknown, token = ACT) =>
    handle({
      method: 'POST',
      path,
      query: {},
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });
  const state = async () =>
    JSON.parse(
      (
        await handle({
          method: 'GET',
          path: '/api/state',
          query: {},
          headers: { authorization: `Bearer ${READ}` },
          body: undefined,
        })
      ).body,
    ) as { control: { paused: boolean; by?: string; note?: string } };
  return { w, post, state };
}

describe('dashboard: operator controls', () => {
  it('pauses and resumes the pipeline with a note, recorded with who acted; a read token or no note changes nothing', async () => {
    const { w, post, state } = controls();
    expect((await post('/api/control/pause', { note: 'maintenance' }, READ)).status).toBe(403);
    expect((await post('/api/control/pause', {})).status).toBe(400);
    expect((await post('/api/control/pause', { note: '   ' })).status).toBe(400);
    expect((await state()).control.paused).toBe(false);

    expect((await post('/api/control/pause', { note: 'maintenance' })).status).toBe(200);
    expect((await state()).control).toMatchObject({
      paused: true,
      by: 'dashboard:act token',
      note: 'maintenance',
    });
    // A run request while paused is held, not started.
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    expect(await w.store.get(COLLECTIONS.runs, rid('2024-04-21', 'm1'))).toBeUndefined();

    const resumed = await post('/api/control/resume', { note: 'done' });
    expect(resumed.status).toBe(200);
    expect(JSON.parse(resumed.body)).toMatchObject({ released: { runRequests: 1, triggers: 0 } });
    expect((await state()).control.paused).toBe(false);
    const events = w.store.docs(COLLECTIONS.events).filter((e) => /pause|resume/.test(String(e.type)));
    expect(events.map((e) => [e.type, e.by, e.note])).toEqual([
      ['pipeline_paused', 'dashboard:act token', 'maintenance'],
      ['pipeline_resumed', 'dashboard:act token', 'done'],
    ]);
  });

  it('cancels a RUNNING run: no further phase; an unknown run is a 404; an ended one is left as it is', async () => {
    const { w, post } = controls();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    const runId = rid('2024-04-21', 'm1');
    expect((await post(`/api/runs/${encodeURIComponent(runId)}/cancel`, {})).status).toBe(400);
    expect((await post(`/api/runs/${encodeURIComponent(runId)}/cancel`, { note: 'x' }, READ)).status).toBe(
      403,
    );
    const cancelled = await post(`/api/runs/${encodeURIComponent(runId)}/cancel`, { note: 'wrong season' });
    expect(cancelled.status).toBe(200);
    expect(JSON.parse(cancelled.body)).toMatchObject({ cancelled: true, status: 'CANCELLED' });
    await w.pumpAll();
    expect(await w.store.get(COLLECTIONS.runs, runId)).toMatchObject({
      status: 'CANCELLED',
      cancelled: { by: 'dashboard:act token', note: 'wrong season' },
    });
    const again = await post(`/api/runs/${encodeURIComponent(runId)}/cancel`, { note: 'again' });
    expect(JSON.parse(again.body)).toMatchObject({ cancelled: false, status: 'CANCELLED' });
    const unknown = await post('/api/runs/no-such-run/cancel', { note: 'x' });
    expect(unknown.status).toBe(404);
    expect((JSON.parse(unknown.body) as { message: string }).message).toMatch(/no run "no-such-run"/);
  });
});
