import { describe, expect, inject, it } from 'vitest';
import { createPubSubPublisher } from '../../shared/adapters/pubsub-publisher.ts';
import { TOPICS } from '../../shared/messages/messages.ts';
import { heldCounts, pausePipeline, resumePipeline } from '../../shared/operations/pause.ts';
import { phaseDecisionId } from '../../shared/orchestration/run-doc.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { runCli } from '../support/cli.ts';
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
      // `trigger` says the request is held rather than waiting for a run that cannot start yet.
      const trigger = await runCli(['trigger', '--partition', '2024-05-01'], env);
      expect(trigger.stdout).toMatch(
        /^run request \S+ published and held: the pipeline is paused \(since .* by cli:ops/,
      );
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

  it('while a slow processor runs: a pause holds the trigger its phase decides until resume; a cancel triggers nothing', async () => {
    // widgets' first two runs take 15 s more (its timeout is 20 s): a pause and a cancel (a CLI
    // process) land while it runs, even on a busy machine (with 4 s the CLI was sometimes too late).
    const h = await stacks.withFaults('cancel', (name): Record<string, string> =>
      name === 'phase-alpha'
        ? {
            PHASEGATE_FAULTS: JSON.stringify({
              slowHandlers: [{ processor: 'widgets', delayMs: 15_000, times: 2 }],
            }),
          }
        : {},
    );
    const env = { ...inject('emulatorEnv'), GOOGLE_CLOUD_PROJECT: h.stack.projectId, USER: 'ops' };
    /** Publishes a run request for `partition` and waits until its widgets runs: its run id. */
    const startSlowRun = async (partition: string): Promise<string> => {
      await h.publishJson(TOPICS.runRequests, { partition, triggerSource: 'manual' });
      let id = '';
      await eventually(
        async () => {
          const [attempt] = await h.store.query(COLLECTIONS.processorRuns, {
            filters: [
              { field: 'processor', op: '==', value: 'widgets' },
              { field: 'partition', op: '==', value: partition },
            ],
          });
          id = typeof attempt?.data.runId === 'string' ? attempt.data.runId : '';
          return attempt?.data.status === 'running';
        },
        { what: `widgets of ${partition} to be running` },
      );
      return id;
    };

    // Paused while alpha runs: alpha decides (its gate passes), beta's trigger is held.
    const pausedRun = await startSlowRun('2024-05-02');
    await pausePipeline(deps(h), operator);
    await eventually(
      async () =>
        (await h.store.get(COLLECTIONS.runPhases, phaseDecisionId(pausedRun, 'alpha')))?.status ===
        'gate_passed',
      { timeoutMs: 60_000, what: 'alpha to pass its gate while paused' },
    );
    await settle();
    expect(await heldCounts(h.store)).toEqual({ runRequests: 0, triggers: 1 });
    const betaWhilePaused = await h.store.query(COLLECTIONS.processorRuns, {
      filters: [
        { field: 'runId', op: '==', value: pausedRun },
        { field: 'phase', op: '==', value: 'beta' },
      ],
    });
    expect(betaWhilePaused).toEqual([]);
    expect((await resumePipeline(deps(h), operator)).released).toEqual({ runRequests: 0, triggers: 1 });
    await eventually(async () => (await h.store.get(COLLECTIONS.runs, pausedRun))?.status === 'SUCCESS', {
      what: 'the paused run to succeed once its trigger was sent',
    });

    // Cancelled while alpha runs: nothing after alpha starts.
    const runId = await startSlowRun('2024-05-03');
    const cancelled = await runCli(['cancel', '--run', runId, '--note', 'wrong season loaded'], env);
    expect(cancelled.stdout).toContain(`${runId} CANCELLED: no further phase will be triggered`);
    // Still running when the cancel committed, or this test proves nothing.
    expect(await h.store.get(COLLECTIONS.processorRuns, `${runId}--alpha--widgets`)).toMatchObject({
      status: 'running',
    });
    await eventually(
      async () =>
        (await h.store.get(COLLECTIONS.processorRuns, `${runId}--alpha--widgets`))?.status === 'completed',
      { timeoutMs: 60_000, what: 'the running widgets to finish and be recorded' },
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
      filters: [
        { field: 'runId', op: '==', value: runId },
        { field: 'phase', op: '==', value: 'beta' },
      ],
    });
    expect(beta).toEqual([]);
    expect(await h.store.countWhere('widgets', [{ field: 'runId', op: '==', value: runId }])).toBeGreaterThan(
      0,
    );
    const again = await runCli(['cancel', '--run', runId, '--note', 'twice'], env);
    expect(again.stdout).toContain('is CANCELLED already: nothing to cancel');
  });
});
