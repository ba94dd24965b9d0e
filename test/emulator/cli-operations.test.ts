import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DOMAIN } from '../../functions/pipeline/collections.ts';
import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { dashboardState } from '../../shared/operations/dashboard/state.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { CONTROL_DLQ_TOPIC, TOPICS } from '../../shared/messages/messages.ts';
import { repoRoot, eventually } from '../support/emulator-harness.ts';
import { runCli } from '../support/cli.ts';
import { startReferenceHarness, type ReferenceHarness } from '../support/reference-harness.ts';

let h: ReferenceHarness;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  h = await startReferenceHarness('cli-ops');
  env = {
    ...inject('emulatorEnv'),
    GOOGLE_CLOUD_PROJECT: h.stack.projectId,
    SOURCE_API_URL: h.source.url,
    METADATA_SERVER_DETECTION: 'none',
  };
});
afterAll(async () => {
  await h?.stop();
});

describe('phasegate operations commands', () => {
  it('trigger --wait shows progress to SUCCESS; status, status --run and events show it', async () => {
    const trigger = await runCli(['trigger', '--partition', '2022-04-16', '--wait'], env);
    expect(trigger.code, trigger.stderr).toBe(0);
    expect(trigger.stdout).toMatch(
      /SUCCESS\s+scrape ✓ 2\/2 · raw ✓ 2\/2 · analytics ✓ 2\/2 · precompute ✓ 2\/2 · predict ✓ 2\/2/,
    );
    const status = await runCli(['status', '--partition', '2022-04-16'], env);
    expect(status.stdout).toMatch(
      /2022-04-16\s+2022-04-16_\w+\s+SUCCESS\s+scrape 2\/2 raw 2\/2 analytics 2\/2 precompute 2\/2 predict 2\/2/,
    );
    const runs = JSON.parse(
      (await runCli(['status', '--partition', '2022-04-16', '--json'], env)).stdout,
    ) as {
      runId: string;
    }[];
    const runId = runs[0]!.runId;
    const detail = await runCli(['status', '--run', runId], env);
    expect(detail.stdout).toContain(
      'history: RUNNING (run started at phase scrape) -> SUCCESS (gate of predict passed)',
    );
    const events = await runCli(['events', '--run', runId], env);
    expect(events.stdout.match(/gate_passed/g)).toHaveLength(5);
    expect(
      (JSON.parse((await runCli(['events', '--run', runId, '--json'], env)).stdout) as unknown[]).length,
    ).toBeGreaterThan(20);
  });

  it('completeness finds a deleted output document, reports N of M, and re-drives it', async () => {
    const messageId = await h.publishJson(TOPICS.runRequests, {
      partition: '2021-05-22',
      triggerSource: 'manual',
    });
    await eventually(
      async () =>
        (
          await h.store.query(COLLECTIONS.runs, {
            filters: [
              { field: 'requestMessageId', op: '==', value: messageId },
              { field: 'status', op: '==', value: 'SUCCESS' },
            ],
          })
        ).length === 1,
      { what: 'the 2021-05-22 run' },
    );
    const clean = await runCli(['completeness', '--from', '2021-05-22', '--to', '2021-05-22'], env);
    expect(clean.stdout).toMatch(/raw\s+4 of 4 complete/);
    const [victim] = await h.store.query(DOMAIN.teamGameStats, {
      filters: [{ field: 'gameDate', op: '==', value: '2021-05-22' }],
      limit: 1,
    });
    const { Firestore } = await import('@google-cloud/firestore');
    const db = new Firestore({ projectId: h.stack.projectId });
    await db.collection(DOMAIN.teamGameStats).doc(victim!.id).delete();
    const report = await runCli(
      ['completeness', '--from', '2021-05-22', '--to', '2021-05-22', '--enqueue'],
      env,
    );
    expect(report.stdout).toMatch(/raw\s+3 of 4 complete/);
    expect(report.stdout).toContain(`missing 2021-05-22 normalize-team-stats: team_game_stats/${victim!.id}`);
    expect(report.stdout).toContain('enqueued 1 for retry');
    await h.publishJson(TOPICS.autoRetryTicks, {});
    await eventually(async () => (await h.store.get(DOMAIN.teamGameStats, victim!.id)) !== undefined, {
      timeoutMs: 30_000,
      what: 'the re-driven processor to restore the document',
    });
    expect(
      (await runCli(['completeness', '--from', '2021-05-22', '--to', '2021-05-22'], env)).stdout,
    ).toMatch(/raw\s+4 of 4 complete/);
    await db.terminate();
  });

  it('backfill runs a range in date order with a progress bar, and resumes after Ctrl-C without redoing finished dates', async () => {
    const args = ['backfill', '--from', '2023-04-15', '--to', '2023-04-18', '--concurrency', '2'];
    // Interrupt after the first date finishes.
    const child = spawn(process.execPath, ['bin/phasegate.js', ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await eventually(
      async () =>
        (
          await h.store.query(COLLECTIONS.runs, {
            filters: [
              { field: 'partition', op: '==', value: '2023-04-15' },
              { field: 'status', op: '==', value: 'SUCCESS' },
            ],
          })
        ).length === 1,
      { timeoutMs: 60_000, what: 'the first backfilled date' },
    );
    child.kill('SIGINT');
    expect(await exited).toBe(1);
    expect(out).toContain('interrupted: run again to resume');
    // The progress the dashboard shows is the command's: interrupted, and how far it got.
    const progressId = '2023-04-15_2023-04-18';
    const stopped = await h.store.get(COLLECTIONS.backfills, progressId);
    expect(stopped).toMatchObject({ status: 'interrupted', total: 4, from: '2023-04-15', to: '2023-04-18' });
    expect(Number(stopped!.succeeded)).toBeGreaterThanOrEqual(1);
    const resumed = await runCli(args, env);
    expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/(\d) succeeded, (\d) already done, 0 failed, 0 blocked/);
    const [, succeeded, skipped] = /(\d) succeeded, (\d) already done/.exec(resumed.stdout)!;
    expect(Number(succeeded) + Number(skipped)).toBe(4);
    expect(Number(skipped)).toBeGreaterThanOrEqual(1);
    expect(await h.store.get(COLLECTIONS.backfills, progressId)).toMatchObject({
      status: 'finished',
      total: 4,
      succeeded: Number(succeeded),
      skipped: Number(skipped),
      failed: 0,
    });
    const state = await dashboardState(h.store, referenceDefinition, { now: new Date() });
    expect(state.backfills.find((b) => b.backfillId === progressId)).toMatchObject({
      done: 4,
      total: 4,
      percent: 100,
      etaSeconds: 0,
      quiet: false,
    });
    for (const date of ['2023-04-15', '2023-04-16', '2023-04-17', '2023-04-18']) {
      expect(
        await h.store.query(COLLECTIONS.runs, {
          filters: [
            { field: 'partition', op: '==', value: date },
            { field: 'status', op: '==', value: 'SUCCESS' },
          ],
        }),
      ).toHaveLength(1);
    }
  });

  it('health summarises runs, failure rates, recoveries and the oldest open entry', async () => {
    const health = await runCli(['health', '--json'], env);
    expect(health.code, health.stderr).toBe(0);
    const summary = JSON.parse(health.stdout) as {
      runsByStatus: Record<string, number>;
      processors: { processor: string; attempts: number }[];
      recovered: { automatically: number };
    };
    expect(summary.runsByStatus.SUCCESS).toBeGreaterThanOrEqual(6);
    expect(
      summary.processors.find((p) => p.processor === 'normalize-team-stats')?.attempts,
    ).toBeGreaterThanOrEqual(7);
    expect(summary.recovered.automatically).toBeGreaterThanOrEqual(1);
    const text = await runCli(['health'], env);
    expect(text.stdout).toMatch(/failure rate/);
  });

  it('a message on control-dlq: health and validate --live report it, the reconcile tick alerts, and none consumes it', async () => {
    // What the recorder could not record ends there (here: published by hand, as Pub/Sub would).
    await h.publishJson(CONTROL_DLQ_TOPIC, {
      requestId: 'poison',
      note: 'the recorder could not write this',
    });
    const health = await runCli(['health'], env);
    expect(health.code).toBe(1);
    expect(health.stdout).toMatch(
      new RegExp(
        String.raw`control-dlq: control-dlq-sub holds 1 message\(s\), the oldest published \d{4}-\d\d-\d\dT[\d:.]+Z: ` +
          'the dead-letter recorder could not record them',
      ),
    );
    // Peeked, not consumed: still there for the next look, and for a person.
    const again = JSON.parse((await runCli(['health', '--json'], env)).stdout) as {
      controlDlq: { count: number };
    };
    expect(again.controlDlq.count).toBe(1);
    const live = await runCli(['validate', '--live'], env);
    expect(live.code).toBe(1);
    expect(live.stdout).toMatch(/\[control-dlq\] control-dlq-sub holds 1 message/);
    await h.publishJson(TOPICS.reconcileTicks, {});
    await eventually(
      async () => (await h.store.get(COLLECTIONS.alerts, 'control_dlq'))?.kind === 'control_dlq',
      {
        what: () => 'the control_dlq alert',
      },
    );
    expect(String((await h.store.get(COLLECTIONS.alerts, 'control_dlq'))?.message)).toMatch(
      /^control-dlq-sub holds 1 message/,
    );
    expect(
      (JSON.parse((await runCli(['health', '--json'], env)).stdout) as { controlDlq: { count: number } })
        .controlDlq.count,
    ).toBe(1);
  });

  it('answers bad arguments clearly', async () => {
    const reversed = await runCli(['backfill', '--from', '2023-05-01', '--to', '2023-04-01'], env);
    expect(reversed.code).toBe(2);
    expect(reversed.stderr).toContain('--from 2023-05-01 is after --to 2023-04-01');
    const unknown = await runCli(['stats'], env);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("unknown command 'stats'");
    const concurrency = await runCli(
      ['backfill', '--from', '2023-04-01', '--to', '2023-04-02', '--concurrency', '0'],
      env,
    );
    expect(concurrency.stderr).toContain('"0" is not a whole number from 1 to 64');
  });
});
