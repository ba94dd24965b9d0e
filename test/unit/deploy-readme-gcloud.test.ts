import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGoogleApis } from '../support/gcloud/google-apis.ts';
import {
  gcloudEnv,
  gcloudOnPath,
  installedGcloud,
  startGcloudSession,
} from '../support/gcloud/gcloud-cli.ts';
import { checkDeployment, type Deployed } from '../support/gcloud/check-deployment.ts';
import { NUMBER, out, PROJECT, runQuiet, steps, target } from '../support/gcloud/deploy-target.ts';

// The deploy plan through the installed Google Cloud CLI (its own parser, property resolution and
// API clients) against a local stand-in for the Google APIs: what gcloud accepts, and what it
// would send to Google. No network and no account: a dummy token, an empty configuration.

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
/** README's deploy command, as a user with a freshly installed Cloud SDK would run it. */
const README_DEPLOY = [
  'deploy',
  '--project',
  PROJECT,
  '--region',
  target.region,
  '--env',
  'SOURCE_API_URL=https://stats.example.com',
  '--dashboard-actor',
  'user:oncall@example.com',
  '--dashboard-reader',
  'group:data@example.com',
  '--dashboard-reader',
  'domain:example.com',
  '--out',
  out,
];

/** Runs `command` (a process that calls `gcloud`) with a gcloud of its own against a fresh stand-in. */
async function withGcloud(
  world: 'empty' | 'existing',
  defaultProject: string | undefined,
  command: string[],
): Promise<Deployed> {
  const apis = await startGoogleApis({ world, projectNumber: NUMBER });
  const commands: (readonly string[])[] = [];
  const session = await startGcloudSession(gcloudEnv({ apis: apis.env, defaultProject }), (argv) => {
    apis.step = commands.length;
    commands.push(argv);
  });
  const onPath = await gcloudOnPath(session);
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, ...onPath.env };
    delete env.GOOGLE_CLOUD_PROJECT;
    const result = await runQuiet(command, { cwd: repoRoot, env });
    return { apis, commands, result };
  } finally {
    await onPath.close();
    await session.close();
  }
}

beforeAll(() => {
  // The test does not skip: gcloud is on this machine (the emulators come from it).
  installedGcloud();
});

describe("README's deploy, through the real gcloud CLI", () => {
  let fresh: Deployed;
  let again: Deployed;
  beforeAll(async () => {
    // `phasegate deploy` itself (not a dry run): it builds, stages the source and runs every command.
    fresh = await withGcloud('empty', undefined, [
      process.execPath,
      '--import',
      'tsx',
      'scripts/cli.ts',
      ...README_DEPLOY,
    ]);
    // The deploy.sh it wrote, run on its own over the deployed project, on a machine whose default project is another.
    again = await withGcloud('existing', 'someone-elses-project', ['bash', join(out, 'deploy.sh')]);
  }, 240_000);
  afterAll(async () => {
    await fresh?.apis.close();
    await again?.apis.close();
  });

  it('deploys a fresh project with no default project configured: every command accepted, every name in the project', () => {
    expect(fresh.result.code, fresh.result.stderr.slice(-3000)).toBe(0);
    expect(fresh.result.stdout).toContain(
      `deployed ${PROJECT} (${target.region}): ${steps.length} steps applied, 0 updated, 0 already there`,
    );
    // First the project number (no --project-number given), then the plan, in order.
    expect(fresh.commands[0]).toEqual([
      'gcloud',
      'projects',
      'describe',
      PROJECT,
      '--format=value(projectNumber)',
    ]);
    expect(fresh.commands.slice(1)).toEqual(steps.map((s) => s.argv));
    checkDeployment(fresh, 'empty');
  });

  it(
    'deploy.sh runs again over the existing deployment, another default project set: creates answer 409, updates ' +
      'follow, nothing leaves the project',
    () => {
      expect(again.result.code, again.result.stderr.slice(-3000)).toBe(0);
      const withUpdate = steps.filter((s) => typeof s.ifExists === 'object').length;
      const keptAsIs = steps.filter((s) => s.ifExists === 'skip').length;
      expect(again.commands).toHaveLength(steps.length + withUpdate);
      expect(again.result.stderr.split('(exists: updating)').length - 1).toBe(withUpdate);
      expect(again.result.stderr.split('(exists: kept as is)').length - 1).toBe(keptAsIs);
      expect(again.apis.requests.filter((r) => r.status === 409).length).toBe(withUpdate + keptAsIs);
      checkDeployment(again, 'existing');
    },
  );
});
