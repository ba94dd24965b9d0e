import { describe, expect, inject, it } from 'vitest';
import { createPubSubPublisher } from '../../shared/adapters/pubsub-publisher.ts';
import { TOPICS } from '../../shared/messages/messages.ts';
import { heldCounts, pausePipeline, resumePipeline } from '../../shared/operations/pause.ts';
import { phaseDecisionId } from '../../shared/orchestration/run-doc.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { runCli } from '../support/cli.ts';
import { seedStalledRun } from '../support/stalled-run.ts';
import { eventually, fileStacks, type Harness } from '../support/emulator-harness.ts';

/** One stack; each test pauses and resumes it (a resume in `finally`: no test leaves it paused). */
const stacks = fileStacks({ label: 'controls', definition: testDefinition });

const operator = { by: 'cli:test', note: 'provider maintenance window' };
const deps = (h: Harness) => ({
  store: h.store,
  publisher: createPubSubPublisher(h.stack.pubsub),
  clock: systemClock,
});
const runsOf = async (h: Harness, partition: string) =>
  h.store.query(COLLECTIONS.runs, { filters: [{ field: 'partition', op: '==', value: partition }] });
const eventsOfType = async (h: Harness, type: string) =>
  h.store.query(COLLECTIONS.events, { filters: [{ field: 'type', op: '==', value: type }] });
/** Long enough for a delivery the pause failed to hold to have started something. */
const settle = () => new Promise((r) => setTimeout(r, 3000));

describe('operator controls on the emulators: pause, resume, cancel', () => {
  it('a run request published while paused starts nothing and is not lost; after resume it reaches SUCCESS', async () => {
    const h = stacks.shared;
    const env = { ...inject('emulatorEnv'), GOOGLE_CLOUD_PROJECT: h.stack.projectId, USER: 'ops' };
    const blank = await runCli(['pause', '--note', ' '], env);
    expect({ code: blank.code, stderr: blank.stderr }).toEqual({
      code: 2,
      stderr: expect.stringContaining('a --note saying why is required') as string,
    });
    const paused = await runCli(['pause', '--note', operator.note], env);
    expect(paused.stdout).toContain('paused: new run requests and phase triggers are held');
    expect(await pausePipeline(deps(h), operator)).toBe(false);
    try {
      await h.publishJson(TOPICS.runRequests, { partition: '2024-05-01', triggerSource: 'manual' });
      await eventually(async () => (await heldCounts(h.store)).runRequests === 1, {
        what: 'the run request to be held',
      });
      await settle();
      expect(await runsOf(h, '2024-05-01')).toEqual([]);
      expect((await eventsOfType(h, 'run_request_held')).map((e) => e.data.partition)).toEqual([
        '2024-05-01',
      ]);
      const state = JSON.parse((await runCli(['paused', '--json'], env)).stdout) as Record<string, unknown>;
      expect(state).toMatchObject({ paused: true, by: 'cli:ops', held: { runRequests: 1, triggers: 0 } });
    } finally {
      const resumed = await runCli(['resume', '--note', 'window over'], env);
      expect(resumed.stdout).toContain('resumed: released 1 run request(s) and 0 phase trigger(s)');
    }
    await eventually(async () => (await runsOf(h, '2024-05-01'))[0]?.data.status === 'SUCCESS', {
      what: 'the released run to succeed',
    });
    expect(await runsOf(h, '2024-05-01')).toHaveLength(1);
    expect(await heldCounts(h.store)).toEqual({ runRequests: 0, triggers: 0 });
    const [resumed] = await eventsOfType(h, 'pipeline_resumed');
    expect(resumed?.data).toMatchObject({
      by: 'cli:ops',
      note: 'window over',
      released: { runRequests: 1 },
    });
  });

  it('holds the triggers a decision made while paused (here a stall re-drive), and sends them on resume', async () => {
    const h = stacks.shared;
    const run = await seedStalledRun(h.store, { runId: 'paused-run', partition: '2024-05-02' });
    await pausePipeline(deps(h), operator);
    try {
      await h.publishJson(TOPICS.reconcileTicks, {});
      await eventually(
        async () => (await eventsOfType(h, 'stalled')).some((e) => e.data.runId === run.runId),
        {
          what: 'the stall re-drive to be decided',
        },
      );
      await settle();
      expect(await heldCounts(h.store)).toEqual({ runRequests: 0, triggers: 2 });
      const attempts = await h.store.query(COLLECTIONS.processorRuns, {
        filters: [{ field: 'runId', op: '==', value: run.runId }],
      });
      expect(attempts).toEqual([]);
    } finally {
      const { released } = await resumePipeline(deps(h), operator);
      expect(released).toEqual({ runRequests: 0, triggers: 2 });
    }
    await eventually(async () => (await h.store.get(COLLECTIONS.runs, run.runId))?.status === 'SUCCESS', {
      what: 'the run to succeed once its triggers were sent',
    });
  });

  it('a run cancelled while a processor runs triggers no further phase; what the processor wrote is recorded', async () => {
    // widgets takes 4 s: the cancel lands while it runs.
    const h = await stacks.withFaults('cancel', (name): Record<string, string> =>
      name === 'phase-alpha'
        ? {
            PHASEGATE_FAULTS: JSON.stringify({
              slowHandlers: [{ processor: 'widgets', delayMs: 4000, times: 1 }],
            }),
          }
        : {},
    );
    const env = { ...inject('emulatorEnv'), GOOGLE_CLOUD_PROJECT: h.stack.projectId, USER: 'ops' };
    await h.publishJson(TOPICS.runRequests, { partition: '2024-05-03', triggerSource: 'manual' });
    let runId = '';
    await eventually(
      async () => {
        const [attempt] = await h.store.query(COLLECTIONS.processorRuns, {
          filters: [{ field: 'processor', op: '==', value: 'widgets' }],
        });
        runId = typeof attempt?.data.runId === 'string' ? attempt.data.runId : '';
        return attempt?.data.status === 'running';
      },
      { what: 'widgets to be running' },
    );
    const cancelled = await runCli(['cancel', '--run', runId, '--note', 'wrong season loaded'], env);
    expect(cancelled.stdout).toContain(`${runId} CANCELLED: no further phase will be triggered`);
    await eventually(
      async () =>
        (await h.store.get(COLLECTIONS.processorRuns, `${runId}--alpha--widgets`))?.status === 'completed',
      { what: 'the running widgets to finish and be recorded' },
    );
    await eventually(
      async () => {
        const phase = await h.store.get(COLLECTIONS.runPhases, phaseDecisionId(runId, 'alpha'));
        return Object.keys((phase?.completed as object | undefined) ?? {}).length === 2;
      },
      { what: 'both completions of alpha to be recorded' },
    );
    await settle();
    expect(await h.store.get(COLLECTIONS.runs, runId)).toMatchObject({ status: 'CANCELLED' });
    expect(await h.store.get(COLLECTIONS.runPhases, phaseDecisionId(runId, 'alpha'))).toMatchObject({
      status: 'running',
    });
    expect(await h.store.get(COLLECTIONS.runPhases, phaseDecisionId(runId, 'beta'))).toBeUndefined();
    const beta = await h.store.query(COLLECTIONS.processorRuns, {
      filters: [{ field: 'phase', op: '==', value: 'beta' }],
    });
    expect(beta).toEqual([]);
    expect(await h.store.countWhere('widgets', [{ field: 'runId', op: '==', value: runId }])).toBeGreaterThan(
      0,
    );
    const again = await runCli(['cancel', '--run', runId, '--note', 'twice'], env);
    expect(again.stdout).toContain('is CANCELLED already: nothing to cancel');
  });
});
