import { describe, expect, it } from 'vitest';
import { partitionGrid } from '../../shared/operations/dashboard/grid.ts';
import { createDashboard } from '../../shared/operations/dashboard/handler.ts';
import { runWaterfall } from '../../shared/operations/dashboard/waterfall.ts';
import { dailyHealth, recordHealthSample } from '../../shared/operations/health-daily.ts';
import { healthSummary } from '../../shared/operations/health.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { pubsubEvent } from '../support/factories.ts';
import { rid, world } from '../support/orchestrator-world.ts';

const eventsOf = (w: ReturnType<typeof world>, runId: string) =>
  w.store.docs(COLLECTIONS.events).filter((e) => e.runId === runId);

async function runTo(w: ReturnType<typeof world>, partition: string, messageId: string) {
  await w.orchestrator.onRunRequest(pubsubEvent({ partition, triggerSource: 'manual' }, { messageId }));
  await w.pumpAll();
  return rid(partition, messageId);
}

describe('the partition grid', () => {
  it('colours each phase of each partition by its newest run: succeeded, failed, waiting, not run', async () => {
    const w = world();
    await runTo(w, '2024-04-21', 'm1');
    // 1995: beta's summary fails for good (the run ends PARTIAL).
    await runTo(w, '1995-04-22', 'm2');
    // Started, not delivered: alpha is running, beta waits for it.
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-23', triggerSource: 'manual' }, { messageId: 'm3' }),
    );
    const grid = await partitionGrid(w.store, testDefinition, [
      '2024-04-24',
      '2024-04-23',
      '2024-04-21',
      '1995-04-22',
    ]);
    expect(grid.phases).toEqual(['alpha', 'beta']);
    expect(grid.rows.map((r) => [r.partition, r.runStatus, ...r.cells.map((c) => c.state)])).toEqual([
      ['1995-04-22', 'PARTIAL', 'succeeded', 'failed'],
      ['2024-04-21', 'SUCCESS', 'succeeded', 'succeeded'],
      ['2024-04-23', 'RUNNING', 'running', 'waiting'],
      ['2024-04-24', null, 'not_run', 'not_run'],
    ]);
    expect(grid.rows[1]!.runId).toBe(rid('2024-04-21', 'm1'));
  });

  it('answers a range the scheme rejects with a 400 that says why, and draws a range it accepts', async () => {
    const w = world();
    await runTo(w, '2024-04-21', 'm1');
    const dashboard = createDashboard({
      definition: testDefinition,
      store: w.store,
      publisher: w.publisher,
      clock: w.clock,
      logger: createMemoryLogger(),
      auth: { mode: 'off' },
    });
    const get = (query: Record<string, string>) =>
      dashboard({ method: 'GET', path: '/api/grid', query, headers: {}, body: undefined });
    const bad = await get({ from: '2024-04-22', to: '2024-04-21' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({
      message: expect.stringContaining('starts after it ends') as string,
    });
    expect((await get({ from: '2024-04-21' })).status).toBe(400);
    const range = JSON.parse((await get({ from: '2024-04-20', to: '2024-04-22' })).body) as {
      rows: { partition: string; cells: { state: string }[] }[];
    };
    expect(range.rows.map((r) => [r.partition, r.cells[0]!.state])).toEqual([
      ['2024-04-20', 'not_run'],
      ['2024-04-21', 'succeeded'],
      ['2024-04-22', 'not_run'],
    ]);
  });
});

describe('the run waterfall', () => {
  it('draws each attempt on one axis, the gates as markers, and names the slowest step', async () => {
    const w = world();
    const ok = await runTo(w, '2024-04-21', 'm1');
    const waterfall = runWaterfall(eventsOf(w, ok), ['alpha', 'beta'], w.clock.now());
    const attempts = waterfall.bars.filter((b) => b.attempt > 0);
    expect(new Set(attempts.map((b) => b.processor))).toEqual(new Set(testDefinition.processorNames()));
    expect(attempts.every((b) => b.state === 'succeeded')).toBe(true);
    expect(waterfall.markers.map((m) => [m.phase, m.kind])).toEqual([
      ['alpha', 'gate_passed'],
      ['beta', 'gate_passed'],
    ]);
    expect(waterfall.slowest).not.toBeNull();

    const partial = await runTo(w, '1995-04-22', 'm2');
    const failed = runWaterfall(eventsOf(w, partial), ['alpha', 'beta'], w.clock.now());
    expect(failed.bars.find((b) => b.processor === 'summary' && b.attempt > 0)).toMatchObject({
      state: 'failed',
      detail: expect.stringContaining('permanent') as string,
    });
  });

  it('a transient failure then a success: retried, queued while it waited, succeeded; a dead letter ends its bar', () => {
    const at = (s: number) => new Date(Date.UTC(2024, 3, 21, 0, 0, s)).toISOString();
    const base = { runId: 'r', requestId: 'q1', phase: 'alpha', processor: 'widgets' };
    const events = [
      { ...base, type: 'run_started', requestId: null, processor: null, phase: 'orchestrator', at: at(0) },
      { ...base, type: 'processor_started', attempt: 1, at: at(1) },
      {
        ...base,
        type: 'processor_failed',
        attempt: 1,
        errorType: 'transient',
        message: 'unavailable',
        at: at(3),
      },
      { ...base, type: 'processor_started', attempt: 2, at: at(13) },
      { ...base, type: 'processor_completed', attempt: 2, at: at(14) },
      { ...base, requestId: 'q2', processor: 'gadgets', type: 'processor_started', attempt: 1, at: at(1) },
      {
        ...base,
        requestId: 'q2',
        processor: 'gadgets',
        type: 'processor_failed',
        attempt: 1,
        errorType: 'transient',
        message: 'x',
        at: at(2),
      },
      { ...base, requestId: 'q2', processor: 'gadgets', type: 'dead_lettered', at: at(20) },
    ];
    const w = runWaterfall(events, ['alpha', 'beta'], new Date(at(30)));
    expect(w.bars.filter((b) => b.requestId === 'q1').map((b) => [b.attempt, b.state])).toEqual([
      [0, 'queued'],
      [1, 'retried'],
      [0, 'queued'],
      [2, 'succeeded'],
    ]);
    expect(w.bars.filter((b) => b.requestId === 'q2').at(-1)).toMatchObject({ state: 'dead_lettered' });
    expect(w.slowest).toMatchObject({ processor: 'widgets', attempt: 1, ms: 2000 });
    expect([w.startAt, w.endAt]).toEqual([at(0), at(14)]);
  });
});

describe('the health of each day', () => {
  it('samples gauges into the day, writing only when one rises; a day nobody sampled is null, not zero', async () => {
    const store = new MemoryStore();
    const day = new Date('2024-04-21T10:00:00Z');
    expect(
      await recordHealthSample(store, day, {
        queueOpen: 2,
        oldestOpenAt: '2024-04-21T09:00:00Z',
        controlDlq: 0,
      }),
    ).toBe(true);
    expect(
      await recordHealthSample(store, day, {
        queueOpen: 1,
        oldestOpenAt: '2024-04-21T09:30:00Z',
        controlDlq: null,
      }),
    ).toBe(false);
    expect(await recordHealthSample(store, day, { queueOpen: 5, oldestOpenAt: null, controlDlq: 1 })).toBe(
      true,
    );
    const days = await dailyHealth(store, { since: new Date('2024-04-20T12:00:00Z'), now: day, events: [] });
    expect(days.map((d) => [d.day, d.queueDepthMax, d.oldestOpenAgeSecondsMax, d.controlDlqMax])).toEqual([
      ['2024-04-20', null, null, null],
      ['2024-04-21', 5, 3600, 1],
    ]);
  });

  it('counts failures per processor and dead letters per day, and phase durations p50/p95, as health --json does', async () => {
    const w = world();
    await runTo(w, '2024-04-21', 'm1');
    await runTo(w, '1995-04-22', 'm2');
    const summary = await healthSummary(w.store, { now: w.clock.now(), days: 1 });
    const today = summary.daily.at(-1)!;
    expect(today.failures).toEqual({ summary: 1 });
    expect(today.phaseSeconds.alpha).toMatchObject({ count: 2 });
    expect(today.phaseSeconds.alpha!.p95).toBeGreaterThanOrEqual(today.phaseSeconds.alpha!.p50);
  });
});
