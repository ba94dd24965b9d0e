import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';

describe('phasegate deploy', () => {
  it('prints the dry-run plan, the same as the reviewed snapshot, and writes it with the Terraform JSON', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'phasegate-deploy-')), 'plan');
    const result = await runCli(
      [
        'deploy',
        '--project',
        'demo-project',
        '--region',
        'europe-west1',
        '--env',
        'SOURCE_API_URL=https://stats.example.com',
        '--dashboard-reader',
        'group:data@example.com',
        '--dashboard-actor',
        'user:oncall@example.com',
        '--out',
        out,
        '--dry-run',
      ],
      {},
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const snapshot = readFileSync(
      new URL('../unit/__snapshots__/deploy-dry-run.sh', import.meta.url),
      'utf8',
    );
    expect(result.stdout.replaceAll(`${out}/source`, '.phasegate/deploy/source')).toContain(
      snapshot.trimEnd(),
    );
    expect(readFileSync(join(out, 'deploy.sh'), 'utf8')).toContain(
      'gcloud functions deploy phase-scrape --gen2',
    );
    expect(JSON.parse(readFileSync(join(out, 'phasegate.tf.json'), 'utf8'))).toHaveProperty(
      'resource.google_cloudfunctions2_function',
    );
  });

  it('refuses to deploy without what the pipeline needs, naming it', async () => {
    const noEnv = await runCli(
      ['deploy', '--project', 'demo-project', '--region', 'europe-west1', '--dry-run'],
      {},
    );
    expect(noEnv.code).toBe(2);
    expect(noEnv.stderr).toContain('pipeline reference needs SOURCE_API_URL: add --env SOURCE_API_URL=...');
    const badMember = await runCli(
      [
        'deploy',
        '--project',
        'demo-project',
        '--region',
        'europe-west1',
        '--dashboard-actor',
        'oncall@example.com',
        '--dry-run',
      ],
      {},
    );
    expect(badMember.stderr).toContain(
      '"oncall@example.com" is not an IAM member such as user:oncall@example.com',
    );
    // An actor is one account: the dashboard sees an email in the token, never its groups.
    const groupActor = await runCli(
      [
        'deploy',
        '--project',
        'demo-project',
        '--region',
        'europe-west1',
        '--env',
        'SOURCE_API_URL=https://x.example.com',
        '--dashboard-actor',
        'group:oncall@example.com',
        '--dry-run',
      ],
      {},
    );
    expect(groupActor.code).not.toBe(0);
    expect(groupActor.stderr).toContain(
      'an actor must be a user: or serviceAccount: (an ID token names one account, not its group)',
    );
    const domainActor = await runCli(
      [
        'deploy',
        '--project',
        'demo-project',
        '--region',
        'europe-west1',
        '--env',
        'SOURCE_API_URL=https://x.example.com',
        '--dashboard-actor',
        'domain:example.com',
        '--dry-run',
      ],
      {},
    );
    expect(domainActor.stderr).toContain('not its domain');
    const reserved = await runCli(
      [
        'deploy',
        '--project',
        'demo-project',
        '--region',
        'europe-west1',
        '--env',
        'PHASEGATE_AUTH=off',
        '--dry-run',
      ],
      {},
    );
    expect(reserved.stderr).toContain(
      'PHASEGATE_AUTH is set by deploy or Cloud Run (project, authentication), or is for tests only ' +
        '(fault injection): it cannot be given with --env',
    );
    const badProject = await runCli(
      [
        'deploy',
        '--project',
        'Demo_Project',
        '--region',
        'europe-west1',
        '--env',
        'SOURCE_API_URL=https://x.example',
        '--dry-run',
      ],
      {},
    );
    expect(badProject.stderr).toContain('is not a Google Cloud project id');
  });

  it('runs the plan with gcloud, and running it again updates or keeps what exists', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phasegate-gcloud-'));
    const log = join(dir, 'calls.log');
    // A stand-in gcloud: records each call; once the first run is over, every create finds its resource.
    writeFileSync(
      join(dir, 'gcloud'),
      `#!/usr/bin/env bash
echo "$*" >> "${log}"
if [[ "$1 $2" == "projects describe" ]]; then echo 123456789; exit 0; fi
if [[ -f "${dir}/exists" && " $* " == *" create "* && " $* " != *" identity create "* ]]; then \
echo "ERROR: Resource already exists in the project" >&2; exit 1; fi
exit 0
`,
      { mode: 0o755 },
    );
    const env = { PATH: `${dir}:${process.env.PATH ?? ''}` };
    const args = [
      'deploy',
      '--project',
      'demo-project',
      '--region',
      'europe-west1',
      '--env',
      'SOURCE_API_URL=https://stats.example.com',
      '--out',
      join(dir, 'out'),
    ];
    const first = await runCli(args, env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    expect(calls[0]).toBe('projects describe demo-project --format=value(projectNumber)');
    expect(calls).toContain(
      'pubsub topics add-iam-policy-binding phase-raw-dlq ' +
        '--member=serviceAccount:service-123456789@gcp-sa-pubsub.iam.gserviceaccount.com ' +
        '--role=roles/pubsub.publisher --project=demo-project --quiet',
    );
    expect(first.stdout).toMatch(
      /deployed demo-project \(europe-west1\): \d+ steps applied, 0 updated, 0 already there/,
    );
    expect(readFileSync(join(dir, 'out', 'source', 'package.json'), 'utf8')).toContain(
      '"main": "dist/functions/index.js"',
    );

    writeFileSync(join(dir, 'exists'), '');
    const second = await runCli(args, env);
    expect(second.code, second.stderr.slice(-2000)).toBe(0);
    expect(second.stdout).toMatch(/updated, \d+ already there/);
    expect(readFileSync(log, 'utf8')).toContain('pubsub subscriptions update phase-raw-sub');
  }, 120_000);
});
