import { describe, expect, it } from 'vitest';
import type { DeployStep } from '../../infra/deploy/gcloud.ts';
import { runDeployPlan, type CommandResult } from '../../scripts/lib/deploy-runner.ts';

describe('running the plan', () => {
  const ok: CommandResult = { code: 0, stdout: '', stderr: '' };
  const exists: CommandResult = {
    code: 1,
    stdout: '',
    stderr:
      'ERROR: (gcloud.pubsub.topics.create) Failed to create topic: Resource already exists in the project (resource=run-requests).',
  };
  const sample: DeployStep[] = [
    { section: 'topics', argv: ['gcloud', 'pubsub', 'topics', 'create', 'a'], ifExists: 'skip' },
    {
      section: 'subscriptions',
      argv: ['gcloud', 'pubsub', 'subscriptions', 'create', 'a-sub'],
      ifExists: { update: ['gcloud', 'pubsub', 'subscriptions', 'update', 'a-sub'] },
    },
    { section: 'iam', argv: ['gcloud', 'pubsub', 'topics', 'add-iam-policy-binding', 'a'] },
  ];

  it('keeps or updates what already exists, so a second run is safe', async () => {
    const ran: string[] = [];
    const counts = await runDeployPlan(
      sample,
      (argv) => {
        ran.push(argv.slice(2, 4).join(' '));
        return Promise.resolve(argv.includes('create') ? exists : ok);
      },
      () => undefined,
    );
    expect(counts).toEqual({ created: 1, updated: 1, kept: 1 });
    expect(ran).toEqual([
      'topics create',
      'subscriptions create',
      'subscriptions update',
      'topics add-iam-policy-binding',
    ]);
  });

  it('stops at the first real failure and names the step', async () => {
    const ran: string[] = [];
    const failing = runDeployPlan(
      sample,
      (argv) => {
        ran.push(argv[3]!);
        return Promise.resolve(
          argv[3] === 'create' && argv[2] === 'subscriptions'
            ? { code: 1, stdout: '', stderr: 'PERMISSION_DENIED: caller lacks pubsub.subscriptions.create' }
            : ok,
        );
      },
      () => undefined,
    );
    await expect(failing).rejects.toThrow(
      /step 2 \(subscriptions\) failed \(exit 1\).*\n.*PERMISSION_DENIED/,
    );
    expect(ran).toEqual(['create', 'create']);
  });
});
