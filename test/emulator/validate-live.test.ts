import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { provisionLocal } from '../../infra/local/provision.ts';
import { planResources } from '../../infra/plan.ts';
import { runCli } from '../support/cli.ts';
import { uniqueProjectId } from '../support/emulator-harness.ts';

describe('phasegate validate --live on the emulator', () => {
  let pubsub: PubSub;
  let env: NodeJS.ProcessEnv;
  const projectId = uniqueProjectId('validate-live');

  beforeAll(async () => {
    const emulators = inject('emulatorEnv');
    env = { ...emulators, GOOGLE_CLOUD_PROJECT: projectId, METADATA_SERVER_DETECTION: 'none' };
    pubsub = new PubSub({ projectId, apiEndpoint: emulators.PUBSUB_EMULATOR_HOST, emulatorMode: true });
    // The plan as the local stack provisions it; nothing is published, so nothing is pushed.
    const plan = planResources(referenceDefinition);
    await provisionLocal(
      pubsub,
      plan,
      projectId,
      new Map(plan.functions.map((f) => [f.name, `http://127.0.0.1:9/${f.name}`])),
    );
  });
  afterAll(async () => {
    await pubsub?.close();
  });

  it('finds no drift in what the local provisioning created', async () => {
    const result = await runCli(['validate', '--live'], env);
    expect(result.stdout).toContain(`live audit of ${projectId}`);
    expect(result.stdout).toMatch(/live audit of .*: no drift/);
    expect(result.code).toBe(0);
  });

  it('fails on a subscription created by hand without a dead-letter policy', async () => {
    await pubsub.topic('phase-raw').createSubscription('phase-raw-debug', { ackDeadlineSeconds: 30 });
    const result = await runCli(['validate', '--live'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      '[subscriptions] phase-raw-debug on topic phase-raw is not in the plan, ' +
        'and has no dead-letter policy (live: none; plan: every subscription dead-letters, ' +
        'as phase-raw-sub does to phase-raw-dlq after 5 attempts)',
    );
    await pubsub.subscription('phase-raw-debug').delete();
  });

  it('fails on a planned subscription whose policies drifted', async () => {
    await pubsub.subscription('phase-scrape-sub').setMetadata({ ackDeadlineSeconds: 30 });
    const result = await runCli(['validate', '--live'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('[subscriptions] phase-scrape-sub: ack deadline 30s (live), plan: 120s');
  });
});
