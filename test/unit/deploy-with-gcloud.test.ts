import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { declaredIndexesPath, readIndexesFile } from '../../shared/adapters/declared-indexes.ts';
import { renderShell } from '../../infra/deploy/deploy-script.ts';
import { gcloudPlan, type DeployStep } from '../../infra/deploy/gcloud.ts';
import { functionUrl, type DeployTarget } from '../../infra/deploy/target.ts';
import { planResources } from '../../infra/plan.ts';
import { runCommand, type CommandResult, type RunCommand } from '../../scripts/lib/deploy-runner.ts';
import { startGoogleApis, type GoogleApis, type RecordedRequest } from '../support/gcloud/google-apis.ts';
import {
  gcloudEnv,
  gcloudOnPath,
  installedGcloud,
  startGcloudSession,
} from '../support/gcloud/gcloud-cli.ts';

// The deploy plan through the installed Google Cloud CLI (its own parser, property resolution and
// API clients) against a local stand-in for the Google APIs: what gcloud accepts, and what it
// would send to Google. No network and no account: a dummy token, an empty configuration.

const PROJECT = 'demo-project';
const NUMBER = '123456789012';
const out = join(mkdtempSync(join(tmpdir(), 'phasegate-deploy-')), 'deploy');
const target: DeployTarget = {
  project: PROJECT,
  region: 'europe-west1',
  projectNumber: NUMBER,
  env: { SOURCE_API_URL: 'https://stats.example.com' },
  dashboard: {
    readers: ['group:data@example.com', 'domain:example.com'],
    actors: ['user:oncall@example.com'],
  },
  // Where `phasegate deploy --out` stages the compiled source it uploads.
  source: join(out, 'source'),
  runtime: 'nodejs20',
};
const steps = gcloudPlan(referenceDefinition, target, readIndexesFile(declaredIndexesPath()));
const plan = planResources(referenceDefinition);
const PUSH_SA = `phasegate-push@${PROJECT}.iam.gserviceaccount.com`;

interface Deployed {
  apis: GoogleApis;
  commands: (readonly string[])[];
  result: CommandResult;
}

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

/** Every project a request names: in its URL, and in any resource name or account email in its body. */
function projectsNamed(request: RecordedRequest): string[] {
  const text = `${request.path} ${JSON.stringify(request.body ?? '')}`;
  const inNames = [...text.matchAll(/projects\/([a-z][a-z0-9-]*)/g)].map((m) => m[1]!);
  const inEmails = [...text.matchAll(/@([a-z][a-z0-9-]*)\.iam\.gserviceaccount\.com/g)]
    .map((m) => m[1]!)
    .filter((p) => !p.startsWith('gcp-sa-'));
  return [...inNames, ...inEmails];
}

const seconds = (duration: unknown) => Number(String(duration).replace(/s$/, ''));

/** Pub/Sub's limits on a subscription (documented on the Subscription resource and dead-letter pages). */
function checkSubscription(name: string, sub: Record<string, unknown>): void {
  const planned = plan.subscriptions.find((s) => s.name === name)!;
  expect(sub.ackDeadlineSeconds, name).toBeGreaterThanOrEqual(10);
  expect(sub.ackDeadlineSeconds, name).toBeLessThanOrEqual(600);
  if (planned.pushTo) {
    const push = sub.pushConfig as {
      pushEndpoint: string;
      oidcToken: { serviceAccountEmail: string; audience: string };
    };
    expect(push.oidcToken, name).toEqual({
      serviceAccountEmail: PUSH_SA,
      audience: functionUrl(target, planned.pushTo),
    });
    expect(push.pushEndpoint.startsWith(`${functionUrl(target, planned.pushTo)}/`), name).toBe(true);
  }
  if (planned.deadLetter) {
    const dl = sub.deadLetterPolicy as { deadLetterTopic: string; maxDeliveryAttempts: number };
    expect(dl.deadLetterTopic, name).toBe(`projects/${PROJECT}/topics/${planned.deadLetter.topic}`);
    expect(dl.maxDeliveryAttempts, name).toBeGreaterThanOrEqual(5);
    expect(dl.maxDeliveryAttempts, name).toBeLessThanOrEqual(100);
  }
  if (planned.retryPolicy) {
    const retry = sub.retryPolicy as { minimumBackoff: string; maximumBackoff: string };
    expect(seconds(retry.minimumBackoff), name).toBeGreaterThanOrEqual(0);
    expect(seconds(retry.maximumBackoff), name).toBeLessThanOrEqual(600);
    expect(seconds(retry.minimumBackoff), name).toBeLessThanOrEqual(seconds(retry.maximumBackoff));
  } else {
    // The last-resort hold: pulled by a person, kept as long as Pub/Sub allows, never expiring.
    expect(seconds(sub.messageRetentionDuration), name).toBeLessThanOrEqual(7 * 24 * 3600);
    expect(sub.expirationPolicy, name).toEqual({});
  }
}

function checkDeployment({ apis, commands }: Deployed, world: 'empty' | 'existing'): void {
  // gcloud accepted every command and the stand-in knew every call it made.
  expect(apis.requests.filter((r) => r.status === 501).map((r) => `${r.method} ${r.api} ${r.path}`)).toEqual(
    [],
  );
  const elsewhere = apis.requests.flatMap((r) =>
    projectsNamed(r)
      .filter((p) => p !== PROJECT)
      .map((p) => `${commands[r.step]?.slice(0, 5).join(' ')}: ${r.method} ${r.path} names ${p}`),
  );
  expect(elsewhere).toEqual([]);

  // Every subscription was written once, with its whole configuration (create, or update over the existing one).
  const writes = apis.requests.filter(
    (r) =>
      r.api === 'pubsub' &&
      /\/subscriptions\/[^/:]+$/.test(r.path) &&
      (r.method === 'PUT' || r.method === 'PATCH') &&
      r.status === 200,
  );
  expect(writes.map((r) => r.path.split('/').pop()).sort()).toEqual(
    plan.subscriptions.map((s) => s.name).sort(),
  );
  for (const write of writes) {
    const name = write.path.split('/').pop()!;
    const body = write.body as { subscription?: Record<string, unknown>; updateMask?: string };
    if (write.method === 'PATCH') {
      expect(world).toBe('existing');
      const planned = plan.subscriptions.find((s) => s.name === name)!;
      const mask = body.updateMask!.split(',');
      expect(mask, name).toEqual(
        expect.arrayContaining([
          'ackDeadlineSeconds',
          ...(planned.deadLetter ? ['deadLetterPolicy'] : []),
          ...(planned.retryPolicy ? ['retryPolicy'] : []),
          ...(planned.pushTo ? ['pushConfig'] : []),
        ]),
      );
      checkSubscription(name, body.subscription!);
    } else {
      checkSubscription(name, write.body as Record<string, unknown>);
    }
  }

  // Scheduler jobs publish to the topic of the job's own project, the definition's body.
  const jobs = apis.requests.filter((r) => r.api === 'cloudscheduler' && r.status === 200);
  expect(jobs.map((r) => (r.body as { name: string }).name.split('/').pop())).toEqual(
    plan.schedules.map((j) => j.name),
  );
  for (const job of jobs) {
    const body = job.body as { name: string; pubsubTarget: { topicName: string; data: string } };
    const planned = plan.schedules.find((j) => body.name.endsWith(`/${j.name}`))!;
    expect(body.pubsubTarget.topicName).toBe(`projects/${PROJECT}/topics/${planned.topic}`);
    expect(JSON.parse(Buffer.from(body.pubsubTarget.data, 'base64').toString('utf8'))).toEqual(planned.body);
  }

  // Each function deployed private with the auth deploy sets; its invokers added on Cloud Run.
  const functions = apis.requests.filter(
    (r) =>
      r.api === 'cloudfunctions' &&
      /\/functions(\/[^/:]+)?$/.test(r.path) &&
      (r.method === 'POST' || r.method === 'PATCH'),
  );
  expect(functions).toHaveLength(plan.functions.length);
  for (const fn of functions) {
    const env = (fn.body as { serviceConfig: { environmentVariables: Record<string, string> } }).serviceConfig
      .environmentVariables;
    expect(env.PHASEGATE_AUTH ?? env.DASHBOARD_AUTH).toBe('iam');
  }
  // What IAM holds at the end (a redeploy of a function rewrites its policy: nothing may be lost).
  const invokersOf = (fn: string) =>
    apis.policies
      .get(`/v1/projects/${PROJECT}/locations/${target.region}/services/${fn}`)
      ?.bindings?.find((b) => b.role === 'roles/run.invoker')
      ?.members.sort();
  expect(invokersOf('dashboard')).toEqual([
    'domain:example.com',
    'group:data@example.com',
    'user:oncall@example.com',
  ]);
  for (const fn of plan.functions.filter((f) => f.trigger.kind === 'pubsub'))
    expect(invokersOf(fn.name), fn.name).toEqual([`serviceAccount:${PUSH_SA}`]);
  const agent = `serviceAccount:service-${NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com`;
  for (const sub of plan.subscriptions.filter((s) => s.deadLetter)) {
    expect(
      apis.policies.get(`/v1/projects/${PROJECT}/subscriptions/${sub.name}`)?.bindings,
      sub.name,
    ).toEqual([{ role: 'roles/pubsub.subscriber', members: [agent] }]);
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

describe('the in-process driver is the gcloud command', () => {
  it('sends the same requests as the gcloud script, for the commands that resolve resources while parsing', async () => {
    const update = (s: DeployStep | undefined) =>
      s && typeof s.ifExists === 'object' ? { ...s, argv: s.ifExists.update } : undefined;
    const sample = [
      update(steps.find((s) => s.argv.includes('scheduler'))),
      update(
        steps.find(
          (s) =>
            s.argv.includes('subscriptions') && s.argv.includes('create') && s.argv.includes('phase-raw-sub'),
        ),
      ),
      steps.find((s) => s.argv.includes('add-invoker-policy-binding') && s.argv.includes('dashboard')),
    ].map((s) => s!);
    const viaScript = await recorded(sample, runQuiet);
    const viaDriver = await recorded(sample);
    expect(viaScript.length).toBeGreaterThan(3);
    expect(viaDriver).toEqual(viaScript);
  }, 60_000);
});

/** The requests of `sample` against a deployed project's stand-in, with another default project set, by the driver or by `run`. */
async function recorded(sample: DeployStep[], run?: RunCommand): Promise<string[]> {
  const apis = await startGoogleApis({ world: 'existing', projectNumber: NUMBER });
  // With another default project set: what a parse-time resolution would pick up.
  const env = gcloudEnv({ apis: apis.env, defaultProject: 'someone-elses-project' });
  const session = run ? undefined : await startGcloudSession(env);
  try {
    for (const step of sample) {
      const result = run ? await run(step.argv, { env }) : await session!.run(step.argv);
      expect(result.code, result.stderr).toBe(0);
    }
    return apis.requests.map((r) => `${r.method} ${r.api} ${r.path} ${JSON.stringify(r.body)}`);
  } finally {
    await session?.close();
    await apis.close();
  }
}

/** gcloud's or bash's own output is kept for the assertions, not echoed into the test log. */
const runQuiet: RunCommand = (argv, options) => runCommand(argv, { ...options, quiet: true });

describe('deploy.sh, run on its own', () => {
  /** A stand-in `gcloud` on PATH: logs its arguments; creates fail as `mode` says. */
  function fakeGcloud(mode: 'exists' | 'denied' | 'update-denied'): { dir: string; log: string } {
    const dir = mkdtempSync(join(tmpdir(), 'phasegate-fake-gcloud-'));
    const log = join(dir, 'calls.log');
    const denied = 'ERROR: (gcloud) PERMISSION_DENIED: caller lacks permission';
    const failure =
      mode === 'denied' ? denied : 'ERROR: (gcloud) Resource already exists in the project (resource=x).';
    writeFileSync(
      join(dir, 'gcloud'),
      `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >> ${JSON.stringify(log)}\n` +
        // The creates of resources (not `services identity create`, which is idempotent).
        `if [[ " $* " =~ \\ (topics|subscriptions|service-accounts|databases|composite|jobs)\\ create(\\ |\\ ` +
        `pubsub\\ ) ]]; then echo ${JSON.stringify(failure)} >&2; exit 1; fi\n` +
        (mode === 'update-denied'
          ? `if [[ " $* " == *" update "* ]]; then echo ${JSON.stringify(denied)} >&2; exit 1; fi\n`
          : '') +
        `if [[ " $* " == *" projects describe "* ]]; then echo ${NUMBER}; fi\nexit 0\n`,
    );
    chmodSync(join(dir, 'gcloud'), 0o755);
    return { dir, log };
  }

  const script = renderShell(steps);
  const runScript = (dir: string) => {
    const file = join(dir, 'deploy.sh');
    writeFileSync(file, script, { mode: 0o755 });
    return runQuiet(['bash', file], { env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir } });
  };

  /** deploy.sh with the fake gcloud of `mode`: its result and the gcloud calls it made. */
  const runWithFake = async (mode: Parameters<typeof fakeGcloud>[0]) => {
    const { dir, log } = fakeGcloud(mode);
    const result = await runScript(dir);
    return { result, calls: readFileSync(log, 'utf8').trim().split('\n') };
  };

  it('is re-runnable: a create whose resource exists is kept or updated, and the script goes on to the end', async () => {
    const { result, calls } = await runWithFake('exists');
    expect(result.code, result.stderr).toBe(0);
    const expected = steps.flatMap((s) => [
      s.argv.slice(1).join(' '),
      ...(typeof s.ifExists === 'object' ? [s.ifExists.update.slice(1).join(' ')] : []),
    ]);
    expect(calls).toEqual(expected);
    expect(result.stderr).toContain('(exists: kept as is)');
    expect(result.stderr).toContain('(exists: updating)');
  });

  it('stops at the first other failure and says so', async () => {
    const { result, calls } = await runWithFake('denied');
    expect(result.code).not.toBe(0);
    const firstCreate = steps.findIndex((s) => s.ifExists);
    expect(calls).toHaveLength(firstCreate + 1);
    expect(result.stderr).toContain('PERMISSION_DENIED');
    expect(result.stderr).toMatch(
      /deploy stopped: gcloud firestore databases create --location=europe-west1/,
    );
    expect(result.stderr).toContain('fix the cause and run this script again');
  });

  it('stops when an update fails too, and says where', async () => {
    const { result, calls } = await runWithFake('update-denied');
    expect(result.code).not.toBe(0);
    expect(calls.at(-1)).toMatch(/^pubsub subscriptions update run-requests-sub /);
    expect(result.stderr).toMatch(/deploy stopped: gcloud pubsub subscriptions update run-requests-sub /);
  });
});
