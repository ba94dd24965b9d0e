import { describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { TOPICS } from '../../shared/messages/messages.ts';
import { phaseDecisionId, type RunDoc } from '../../shared/orchestration/run-doc.ts';
import { findRunByMessage } from '../../scripts/lib/watch-run.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { eventually, fileStacks, type Harness } from '../support/emulator-harness.ts';
import { seedStalledRun } from '../support/stalled-run.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { reconcile } from '../../shared/operations/reconciler.ts';
import { EXPIRES_AT, expiryMillis, TTL_COLLECTIONS } from '../../shared/store/retention.ts';
import { MemoryPublisher } from '../../shared/testing/memory-publisher.ts';

/** One stack for both tests: each owns its run and date, and every tick reconciles both. */
const stacks = fileStacks({ label: 'reconciler', definition: testDefinition });

const reconcileTick = (harness: Harness) => harness.publishJson(TOPICS.reconcileTicks, {});

/** A run of `partition` requested and ended SUCCESS: its id. */
async function succeededRun(harness: Harness, partition: string): Promise<string> {
  const messageId = await harness.publishJson(TOPICS.runRequests, { partition, triggerSource: 'manual' });
  const runId = (await findRunByMessage(harness.store, messageId))!.runId;
  await eventually(async () => (await harness.store.get(COLLECTIONS.runs, runId))?.status === 'SUCCESS', {
    what: 'the run to succeed',
  });
  return runId;
}

/** The run's last status write lost: it says RUNNING, its last phase (beta) running with nothing done. */
async function betaBackToRunning(harness: Harness, runId: string): Promise<void> {
  const run = (await harness.store.get(COLLECTIONS.runs, runId)) as unknown as RunDoc;
  await harness.store.set(COLLECTIONS.runs, runId, {
    ...run,
    status: 'RUNNING',
    statusHistory: run.statusHistory.slice(0, 1),
    phases: { ...run.phases, beta: { ...run.phases.beta!, status: 'RUNNING', done: 0 } },
  });
}

describe('reconciler on the emulators', () => {
  it('heals a lost status write from durable state', async () => {
    const harness = stacks.shared;
    const runId = await succeededRun(harness, '2024-04-21');
    // The last status write is lost: the run still says its last phase is running.
    await betaBackToRunning(harness, runId);
    await reconcileTick(harness);
    await eventually(async () => (await harness.store.get(COLLECTIONS.runs, runId))?.status === 'SUCCESS', {
      what: 'the reconciler to heal the run',
    });
    const healed = (await harness.store.get(COLLECTIONS.runs, runId)) as unknown as RunDoc;
    expect(healed.phases.beta).toMatchObject({ status: 'SUCCEEDED', done: 1 });
    expect(healed.statusHistory.at(-1)).toMatchObject({
      status: 'SUCCESS',
      reason: 'reconciler: recomputed from durable state',
    });
    // The tick also sampled the day's gauges, control-dlq peeked through Pub/Sub (health charts).
    const today = new Date().toISOString().slice(0, 10);
    await eventually(async () => (await harness.store.get(COLLECTIONS.healthDaily, today)) !== undefined, {
      what: "the tick's health sample",
    });
    expect(await harness.store.get(COLLECTIONS.healthDaily, today)).toMatchObject({
      day: today,
      queueDepthMax: expect.any(Number) as number,
      oldestOpenAgeSecondsMax: expect.any(Number) as number,
      controlDlqMax: 0,
    });
  });

  it('detects a stalled phase, alerts, and re-drives its missing processors once', async () => {
    const harness = stacks.shared;
    // A run whose phase-alpha requests were lost: the phase has been RUNNING for ten minutes (expected: 60 s).
    const run = await seedStalledRun(harness.store, { runId: 'stalled-run', partition: '2024-04-23' });
    await reconcileTick(harness);
    await eventually(
      async () => (await harness.store.get(COLLECTIONS.runs, run.runId))?.status === 'SUCCESS',
      {
        timeoutMs: 60_000,
        what: 'the re-driven run to succeed',
      },
    );
    const stalled = await harness.store.query(COLLECTIONS.events, {
      filters: [
        { field: 'runId', op: '==', value: run.runId },
        { field: 'type', op: '==', value: 'stalled' },
      ],
    });
    expect(stalled).toHaveLength(1);
    expect(stalled[0]!.data).toMatchObject({
      phase: 'alpha',
      missing: ['widgets', 'gadgets'],
      expectedDurationSeconds: 60,
    });
    expect(await harness.store.get(COLLECTIONS.alerts, 'stalled:alpha')).toMatchObject({
      kind: 'stalled',
      runId: run.runId,
    });
    // Once: further ticks re-drive nothing.
    await reconcileTick(harness);
    await reconcileTick(harness);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await harness.store.get(COLLECTIONS.processorRuns, `${run.runId}--alpha--widgets`)).toMatchObject({
      attempts: 1,
    });
    expect(
      await harness.store.query(COLLECTIONS.events, {
        filters: [
          { field: 'runId', op: '==', value: run.runId },
          { field: 'type', op: '==', value: 'stalled' },
        ],
      }),
    ).toHaveLength(1);
  });
  it('decides a stalled phase whose every completion is recorded but whose decision died with its claim', async () => {
    const harness = stacks.shared;
    const runId = await succeededRun(harness, '2024-04-27');
    // Back to the moment summary's completion was recorded and its delivery claimed the decision of
    // beta, ten minutes ago, then died: no other completion of beta is coming.
    const decisionId = phaseDecisionId(runId, 'beta');
    const tenMinutesAgo = new Date(Date.now() - 600_000).toISOString();
    await betaBackToRunning(harness, runId);
    const phase = await harness.store.get(COLLECTIONS.runPhases, decisionId);
    expect(phase).toMatchObject({
      status: 'gate_passed',
      completed: { summary: expect.any(String) as string },
    });
    await harness.store.set(COLLECTIONS.runPhases, decisionId, {
      ...phase,
      status: 'running',
      startedAt: tenMinutesAgo,
      decidedAt: null,
      gate: null,
    });
    await harness.store.set(COLLECTIONS.decisionClaims, decisionId, {
      decisionId,
      owner: `${runId}--beta--summary`,
      at: tenMinutesAgo,
    });
    await reconcileTick(harness);
    await eventually(
      async () => (await harness.store.get(COLLECTIONS.runPhases, decisionId))?.status === 'gate_passed',
      { timeoutMs: 60_000, what: 'the stall re-drive to have beta decided' },
    );
    await eventually(async () => (await harness.store.get(COLLECTIONS.runs, runId))?.status === 'SUCCESS', {
      what: 'the run to end SUCCESS again',
    });
    const stalled = await harness.store.query(COLLECTIONS.events, {
      filters: [
        { field: 'runId', op: '==', value: runId },
        { field: 'type', op: '==', value: 'stalled' },
      ],
    });
    expect(stalled.map((e) => e.data)).toEqual([
      expect.objectContaining({
        phase: 'beta',
        missing: [],
        message: expect.stringContaining('re-delivered the completion of summary') as string,
      }),
    ]);
    // Decided by the gate on the real data, not healed by the reconciler.
    const { statusHistory } = (await harness.store.get(COLLECTIONS.runs, runId)) as unknown as RunDoc;
    expect(statusHistory.at(-1)?.reason).not.toMatch(/reconciler/);
    // The processor itself ran once: only its stored completion was re-delivered.
    const attempt = await harness.store.get(COLLECTIONS.processorRuns, `${runId}--beta--summary`);
    expect(attempt).toMatchObject({ attempts: 1 });
  });
  it('a tick deletes the expired bookkeeping a real run wrote (the emulator has no TTL) and keeps the rest', async () => {
    const harness = stacks.shared;
    const runId = await succeededRun(harness, '2024-04-25');
    const ofRun = async (collection: string) =>
      (await harness.store.query(collection, { filters: [{ field: 'runId', op: '==', value: runId }] }))
        .length;
    const attemptId = `${runId}--alpha--widgets`;
    // The function's JS Date is a Firestore timestamp on the emulator (timestampValue), a TTL policy's type.
    const rest = await fetch(
      `http://${process.env.FIRESTORE_EMULATOR_HOST}/v1/projects/${harness.stack.projectId}` +
        `/databases/(default)/documents/${COLLECTIONS.processorRuns}/${attemptId}`,
    );
    const stored = (await rest.json()) as { fields: Record<string, Record<string, string>> };
    expect(Object.keys(stored.fields[EXPIRES_AT]!)).toEqual(['timestampValue']);
    const expiresAt = expiryMillis(
      (await harness.store.get(COLLECTIONS.processorRuns, attemptId))?.[EXPIRES_AT],
    );
    expect(expiresAt).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    const before = {
      events: await ofRun(COLLECTIONS.events),
      processorRuns: await ofRun(COLLECTIONS.processorRuns),
      outbox: await ofRun(COLLECTIONS.outbox),
    };
    expect(Math.min(...Object.values(before))).toBeGreaterThan(0);
    // Claims and send claims name their decision and outbox entry, not the run: the ones it made.
    const made = async (collection: string, ids: string[]) => {
      const docs = await harness.store.getMany(collection, ids);
      return ids.filter((_, i) => docs[i] !== undefined);
    };
    const claims = await made(
      COLLECTIONS.decisionClaims,
      testDefinition.phases.map((p) => phaseDecisionId(runId, p.id)),
    );
    const kept = {
      runs: await harness.store.get(COLLECTIONS.runs, runId),
      phases: await ofRun(COLLECTIONS.runPhases),
      widgets: await harness.store.countWhere('widgets', [{ field: 'runId', op: '==', value: runId }]),
    };
    // A tick a day past the run's retention: its bookkeeping has expired; one document has not yet.
    const now = new Date(expiresAt! + 86_400_000);
    await harness.store.set(COLLECTIONS.events, 'ttl-not-yet', { [EXPIRES_AT]: new Date(now.getTime() + 1) });
    const tick = await reconcile({
      definition: testDefinition,
      store: harness.store,
      publisher: new MemoryPublisher(),
      clock: { now: () => now },
      logger: createMemoryLogger(),
      sweepExpired: true,
    });
    expect(tick.expired?.[COLLECTIONS.events]).toBeGreaterThanOrEqual(before.events);
    expect(tick.expired?.[COLLECTIONS.processorRuns]).toBeGreaterThanOrEqual(before.processorRuns);
    for (const collection of TTL_COLLECTIONS) expect(await ofRun(collection), collection).toBe(0);
    expect(await made(COLLECTIONS.decisionClaims, claims)).toEqual([]);
    expect(await harness.store.get(COLLECTIONS.events, 'ttl-not-yet')).toBeDefined();
    expect({
      runs: await harness.store.get(COLLECTIONS.runs, runId),
      phases: await ofRun(COLLECTIONS.runPhases),
      widgets: await harness.store.countWhere('widgets', [{ field: 'runId', op: '==', value: runId }]),
    }).toEqual(kept);
    expect(kept.runs).toMatchObject({ status: 'SUCCESS' });
  });
});
