import { describe, expect, it } from 'vitest';
import { reconcile } from '../../shared/operations/reconciler.ts';
import { createNotifier } from '../../shared/recovery/notifier.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { MemoryPublisher } from '../../shared/testing/memory-publisher.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { manualClock } from '../../shared/testing/manual-clock.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import type { WebhookFormat } from '../../shared/recovery/slack-payload.ts';

/** The reconciler of a store where 2026-03-01 happened, one minute into 2026-03-02, posting to a recording webhook. */
async function world(format: WebhookFormat = 'json') {
  const store = new MemoryStore();
  const clock = manualClock('2026-03-02T00:01:00.000Z');
  const logger = createMemoryLogger();
  const posted: Record<string, unknown>[] = [];
  const notifier = createNotifier({
    store,
    logger,
    clock,
    webhookUrl: 'http://hook',
    webhookFormat: format,
    source: 'demo-project',
    fetch: ((_url: string, init: { body: string }) => {
      posted.push(JSON.parse(init.body) as Record<string, unknown>);
      return Promise.resolve(new Response('ok'));
    }) as unknown as typeof fetch,
  });
  const event = (id: string, at: string, data: Record<string, unknown>) =>
    store.set(COLLECTIONS.events, id, { eventId: id, at, ...data });
  await store.set(COLLECTIONS.runs, 'r1', {
    runId: 'r1',
    status: 'SUCCESS',
    createdAt: '2026-03-01T06:00:00.000Z',
  });
  await store.set(COLLECTIONS.runs, 'r2', {
    runId: 'r2',
    status: 'PARTIAL',
    createdAt: '2026-03-01T07:00:00.000Z',
  });
  // Today's run and failure are tomorrow's summary, not this one.
  await store.set(COLLECTIONS.runs, 'r3', {
    runId: 'r3',
    status: 'FAILED',
    createdAt: '2026-03-02T00:00:30.000Z',
  });
  await event('e1', '2026-03-01T06:01:00.000Z', { type: 'processor_failed', processor: 'games' });
  await event('e2', '2026-03-01T06:02:00.000Z', { type: 'processor_failed', processor: 'games' });
  await event('e3', '2026-03-01T06:03:00.000Z', { type: 'dead_lettered', processor: 'odds' });
  await event('e4', '2026-03-02T00:00:10.000Z', { type: 'processor_failed', processor: 'odds' });
  await store.set(COLLECTIONS.healthDaily, '2026-03-01', {
    day: '2026-03-01',
    queueDepthMax: 4,
    controlDlqMax: 0,
  });
  const tick = () =>
    reconcile({
      definition: testDefinition,
      store,
      publisher: new MemoryPublisher(),
      clock,
      logger,
      notifier,
    });
  return { store, clock, logger, posted, tick };
}

describe('the daily health summary', () => {
  it("goes out once, on the first tick of a UTC day, with the day's figures and nothing of today's", async () => {
    const w = await world();
    expect((await w.tick()).dailySummary).toBe('2026-03-01');
    expect(w.posted).toHaveLength(1);
    expect(w.posted[0]).toMatchObject({
      kind: 'daily_summary',
      dedupKey: 'daily_summary:2026-03-01',
      details: {
        day: '2026-03-01',
        runsByStatus: { SUCCESS: 1, PARTIAL: 1 },
        failures: { games: 2 },
        deadLetters: 1,
        queueDepthMax: 4,
        controlDlqMax: 0,
      },
    });
    expect(String(w.posted[0]!.message)).toMatch(
      /^2026-03-01: runs SUCCESS 1, PARTIAL 1; 2 failed attempts \(games 2\), 1 dead letters/,
    );
    expect(
      w.logger.lines.some((l) => l.level === 'info' && l.message.startsWith('DAILY HEALTH 2026-03-01')),
    ).toBe(true);
    expect(w.logger.lines.some((l) => l.message.startsWith('ALERT'))).toBe(false);
    // Every later tick of the day finds it sent.
    for (let i = 0; i < 5; i += 1) {
      w.clock.advance(60 * 60_000);
      expect((await w.tick()).dailySummary).toBeNull();
    }
    expect(w.posted).toHaveLength(1);
    // The next day: that day's, with today's run and failure in it.
    w.clock.advance(24 * 60 * 60_000);
    expect((await w.tick()).dailySummary).toBe('2026-03-02');
    expect(w.posted[1]).toMatchObject({ details: { runsByStatus: { FAILED: 1 }, failures: { odds: 1 } } });
  });

  it('in the Slack format: a header naming the day, the figures side by side, the command behind them', async () => {
    const w = await world('slack');
    await w.tick();
    const body = w.posted[0] as {
      text: string;
      blocks: { type: string; text?: { text: string }; fields?: { text: string }[] }[];
    };
    expect(body.blocks[0]!.text!.text).toBe('phasegate demo-project: daily health 2026-03-01');
    const fields = body.blocks[1]!.fields!.map((f) => f.text);
    expect(fields).toContain('*Runs*\nSUCCESS 1, PARTIAL 1');
    expect(fields).toContain('*Failed attempts*\ngames 2');
    expect(fields).toContain('*Queue depth max*\n4');
    expect(JSON.stringify(body.blocks.at(-1))).toContain(
      "phasegate --project 'demo-project' health --days 2",
    );
    expect(body.text).toContain('2026-03-01: runs SUCCESS 1');
  });

  it('a webhook that is down gets the summary on a later tick, still once', async () => {
    const w = await world();
    let down = true;
    const store = w.store;
    const notifier = createNotifier({
      store,
      logger: w.logger,
      clock: w.clock,
      webhookUrl: 'http://hook',
      fetch: () => Promise.resolve(new Response('no', { status: down ? 503 : 200 })),
    });
    const tick = () =>
      reconcile({
        definition: testDefinition,
        store,
        publisher: new MemoryPublisher(),
        clock: w.clock,
        logger: w.logger,
        notifier,
      });
    expect((await tick()).dailySummary).toBe('2026-03-01');
    expect(await store.get(COLLECTIONS.alerts, 'daily_summary:2026-03-01')).toMatchObject({
      webhookPending: true,
    });
    down = false;
    w.clock.advance(61_000);
    const later = await tick();
    expect(later.dailySummary).toBeNull();
    expect(later.alertsResent).toBe(1);
    expect(await store.get(COLLECTIONS.alerts, 'daily_summary:2026-03-01')).toMatchObject({
      webhookPending: false,
    });
  });
});
