import { describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { TOPICS } from '../../shared/messages/messages.ts';
import { newRunDoc, phaseDecisionId, type RunDoc } from '../../shared/orchestration/run-doc.ts';
import { findRunByMessage } from '../../scripts/lib/watch-run.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { eventually, fileStacks, type Harness } from '../support/emulator-harness.ts';

/** One stack for both tests: each owns its run and date, and every tick reconciles both. */
const stacks = fileStacks({ label: 'reconciler', definition: testDefinition });

const reconcileTick = (harness: Harness) => harness.publishJson(TOPICS.reconcileTicks, {});

describe('reconciler on the emulators', () => {
  it('heals a lost status write from durable state', async () => {
    const harness = stacks.shared;
    const messageId = await harness.publishJson(TOPICS.runRequests, {
      partition: '2024-04-21',
      triggerSource: 'manual',
    });
    const runId = (await findRunByMessage(harness.store, messageId))!.runId;
    await eventually(async () => (await harness.store.get(COLLECTIONS.runs, runId))?.status === 'SUCCESS', {
      what: 'the run to succeed',
    });
    // The last status write is lost: the run still says its last phase is running.
    const run = (await harness.store.get(COLLECTIONS.runs, runId)) as unknown as RunDoc;
    await harness.store.set(COLLECTIONS.runs, runId, {
      ...run,
      status: 'RUNNING',
      statusHistory: run.statusHistory.slice(0, 1),
      phases: { ...run.phases, beta: { ...run.phases.beta!, status: 'RUNNING', done: 0 } },
    });
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
  });

  it('detects a stalled phase, alerts, and re-drives its missing processors once', async () => {
    const harness = stacks.shared;
    // A run whose phase-alpha requests were lost: the phase has been RUNNING for ten minutes (expected: 60 s).
    const startedAt = new Date(Date.now() - 600_000).toISOString();
    const run = newRunDoc({
      definition: testDefinition,
      requestMessageId: 'lost',
      runId: 'stalled-run',
      partition: '2024-04-23',
      triggerSource: 'manual',
      requestedBy: null,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      startPhase: 'alpha',
      processors: ['widgets', 'gadgets'],
      now: startedAt,
    });
    await harness.store.set(COLLECTIONS.runs, run.runId, { ...run });
    await harness.store.set(COLLECTIONS.runPhases, phaseDecisionId(run.runId, 'alpha'), {
      runId: run.runId,
      phase: 'alpha',
      partition: run.partition,
      expected: ['widgets', 'gadgets'],
      status: 'running',
      startedAt,
      decidedAt: null,
      gate: null,
    });
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
});
