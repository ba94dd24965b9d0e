import { describe, expect, it } from 'vitest';
import { reconcile } from '../../shared/operations/reconciler.ts';
import type { Alert, Notifier } from '../../shared/recovery/notifier.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { phaseTopic, TOPICS } from '../../shared/messages/messages.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { pubsubEvent } from '../support/factories.ts';
import { rid, world } from '../support/orchestrator-world.ts';

describe('the reconciler racing the orchestrator', () => {
  it('sends again, each tick, the alerts whose webhook POST failed', async () => {
    const w = world();
    let calls = 0;
    const notifier: Notifier = Object.assign(() => Promise.resolve(), {
      resendPending: () => Promise.resolve(++calls),
    });
    const result = await reconcile({
      definition: testDefinition,
      store: w.store,
      publisher: w.publisher,
      clock: w.clock,
      logger: w.logger,
      notifier,
    });
    expect(result.alertsResent).toBe(1);
    expect(calls).toBe(1);
  });

  it('never writes a status computed before a gate that passed meanwhile: the run stays SUCCESS, its phases SUCCEEDED', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    const { deliver } = w;
    await deliver(phaseTopic('alpha'));
    await deliver(TOPICS.processorCompletions);
    await deliver(phaseTopic('beta'));
    const runId = rid('2024-04-21', 'm1');
    expect(await w.store.get(COLLECTIONS.runs, runId)).toMatchObject({ status: 'RUNNING' });
    // The reconciler reads the run's phase documents, then its queue entries: in between, beta's gate passes.
    const query = w.store.query.bind(w.store);
    let raced = false;
    w.store.query = async (collection, options) => {
      if (collection === COLLECTIONS.queue && !raced) {
        raced = true;
        await deliver(TOPICS.processorCompletions);
      }
      return query(collection, options);
    };
    await reconcile({
      definition: testDefinition,
      store: w.store,
      publisher: w.publisher,
      clock: w.clock,
      logger: w.logger,
    });
    expect(raced).toBe(true);
    const run = (await w.store.get(COLLECTIONS.runs, runId)) as {
      status: string;
      phases: Record<string, { status: string }>;
    };
    expect(run.status).toBe('SUCCESS');
    expect(Object.values(run.phases).map((p) => p.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
  });
});

describe('the reconcile tick and control-dlq', () => {
  it('alerts on what control-dlq holds, and logs the ALERT line itself when the notifier cannot record it (Firestore down)', async () => {
    const w = world();
    const held = {
      subscription: 'control-dlq-sub',
      count: 1,
      atLeast: false,
      oldest: { messageId: '9', publishTime: '2026-03-01T11:00:00.000Z', sourceSubscription: null, bytes: 3 },
    };
    const alerts: Alert[] = [];
    const deps = {
      definition: testDefinition,
      store: w.store,
      publisher: w.publisher,
      clock: w.clock,
      logger: w.logger,
      controlDlq: () => Promise.resolve(held),
    };
    expect(
      (await reconcile({ ...deps, notifier: (a) => Promise.resolve(void alerts.push(a)) })).controlDlq,
    ).toEqual(held);
    // (The first tick of the day also sends yesterday's summary: daily-summary.test.ts.)
    expect(alerts.filter((a) => a.kind !== 'daily_summary')).toEqual([
      expect.objectContaining({
        kind: 'control_dlq',
        dedupKey: 'control_dlq',
        message: expect.stringMatching(
          /^control-dlq-sub holds 1 message\(s\), the oldest published 2026-03-01T11:00:00.000Z/,
        ) as unknown,
      }),
    ]);
    // The control-dlq step logs its own line; the summary's step fails the tick, so it is redelivered.
    await expect(
      reconcile({ ...deps, notifier: () => Promise.reject(new Error('14 UNAVAILABLE: firestore')) }),
    ).rejects.toThrow(/daily summary: 14 UNAVAILABLE/);
    expect(
      w.logger.lines.filter(
        (l) => l.level === 'error' && l.message.startsWith('ALERT control_dlq: control-dlq-sub holds 1'),
      ),
    ).toHaveLength(1);
    const empty = await reconcile({
      ...deps,
      controlDlq: () => Promise.resolve({ ...held, count: 0, oldest: null }),
      notifier: (a) => Promise.resolve(void alerts.push(a)),
    });
    expect(empty.controlDlq?.count).toBe(0);
    expect(alerts.filter((a) => a.kind === 'control_dlq')).toHaveLength(1);
  });
});
