import { describe, expect, it } from 'vitest';
import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { readIndexesFile, declaredIndexesPath } from '../../shared/adapters/declared-indexes.ts';
import { renderShell, shellQuote } from '../../infra/deploy/deploy-script.ts';
import { gcloudPlan, type DeployStep } from '../../infra/deploy/gcloud.ts';
import {
  functionUrl,
  PROJECT_NUMBER_PLACEHOLDER,
  pushEndpointUrl,
  type DeployTarget,
} from '../../infra/deploy/target.ts';
import { terraformPlan } from '../../infra/deploy/terraform.ts';
import { planResources } from '../../infra/plan.ts';
import { auditPlan } from '../../infra/validate/plan-audit.ts';
import { runDeployPlan, type CommandResult } from '../../scripts/lib/deploy-runner.ts';
import { localJobs } from '../../scripts/lib/local-scheduler.ts';

const target: DeployTarget = {
  project: 'demo-project',
  region: 'europe-west1',
  projectNumber: PROJECT_NUMBER_PLACEHOLDER,
  env: { SOURCE_API_URL: 'https://stats.example.com' },
  dashboard: { readers: ['group:data@example.com'], actors: ['user:oncall@example.com'] },
  source: '.phasegate/deploy/source',
  runtime: 'nodejs20',
};
const indexes = readIndexesFile(declaredIndexesPath());
const plan = planResources(referenceDefinition);
const steps = gcloudPlan(referenceDefinition, target, indexes);
const PUSH_SA = 'phasegate-push@demo-project.iam.gserviceaccount.com';
const AGENT = 'serviceAccount:service-${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com';

const flag = (step: DeployStep, name: string) =>
  step.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const find = (...words: string[]) => steps.filter((s) => words.every((w) => s.argv.includes(w)));

describe('the resource plan of the reference definition', () => {
  it('has no drift: every subscription dead-letters, retries, and outlasts its function; every dead-letter topic is read', () => {
    expect(auditPlan(plan)).toEqual([]);
  });

  it('catches a subscription without DLQ, an ack deadline under the timeout, and an unread dead-letter topic', () => {
    const broken = structuredClone(plan);
    broken.subscriptions[0]!.deadLetter = null;
    broken.subscriptions[1]!.ackDeadlineSeconds = 30;
    broken.subscriptions = broken.subscriptions.filter((s) => s.topic !== 'phase-raw-dlq');
    const messages = auditPlan(broken).map((d) => d.message);
    expect(messages).toContain(
      'subscription run-requests-sub has no dead-letter policy: after its retries a message would be redelivered forever or dropped',
    );
    expect(messages).toContain(
      "subscription processor-completions-sub ack deadline 30s is not above orchestrator-completions's timeout 60s: a slow run is redelivered while it runs",
    );
    expect(messages).toContain(
      'dead-letter topic phase-raw-dlq has no subscription: what lands there is lost',
    );
  });
});

describe('the gcloud deployment plan', () => {
  it('creates every topic, and one push subscription per (topic, function) with OIDC, retry, DLQ and an ack deadline above the timeout', () => {
    for (const topic of plan.topics) expect(find('topics', 'create', topic)).toHaveLength(1);
    const creates = find('subscriptions', 'create');
    expect(creates).toHaveLength(plan.subscriptions.length);
    for (const sub of plan.subscriptions.filter((s) => s.pushTo)) {
      const [step] = find('subscriptions', 'create', sub.name);
      const fn = plan.functions.find((f) => f.name === sub.pushTo)!;
      expect(flag(step!, 'push-endpoint')).toBe(pushEndpointUrl(target, fn.name, sub.topic));
      expect(flag(step!, 'push-auth-service-account')).toBe(PUSH_SA);
      expect(flag(step!, 'push-auth-token-audience')).toBe(functionUrl(target, fn.name));
      expect(Number(flag(step!, 'ack-deadline'))).toBeGreaterThan(fn.timeoutSeconds);
      expect(flag(step!, 'dead-letter-topic')).toBe(sub.deadLetter!.topic);
      expect(Number(flag(step!, 'max-delivery-attempts'))).toBeGreaterThanOrEqual(5);
      expect(flag(step!, 'min-retry-delay')).toMatch(/^\d+s$/);
      expect(step!.ifExists).toMatchObject({
        update: expect.arrayContaining([
          'update',
          sub.name,
          `--dead-letter-topic=${sub.deadLetter!.topic}`,
        ]) as unknown,
      });
    }
    // Every dead-letter topic has a subscription: none is a dead end.
    for (const dlq of new Set(plan.subscriptions.flatMap((s) => (s.deadLetter ? [s.deadLetter.topic] : []))))
      expect(find('subscriptions', 'create', `--topic=${dlq}`)).toHaveLength(1);
  });

  it('grants the Pub/Sub service agent publish on every DLQ and subscribe on every source subscription, the push account invoke on every push target', () => {
    const dlqs = new Set(plan.subscriptions.flatMap((s) => (s.deadLetter ? [s.deadLetter.topic] : [])));
    for (const topic of dlqs)
      expect(
        find('topics', 'add-iam-policy-binding', topic, `--member=${AGENT}`, '--role=roles/pubsub.publisher'),
      ).toHaveLength(1);
    for (const sub of plan.subscriptions.filter((s) => s.deadLetter))
      expect(
        find(
          'subscriptions',
          'add-iam-policy-binding',
          sub.name,
          `--member=${AGENT}`,
          '--role=roles/pubsub.subscriber',
        ),
      ).toHaveLength(1);
    for (const fn of plan.functions.filter((f) => f.trigger.kind === 'pubsub'))
      expect(find('add-invoker-policy-binding', fn.name, `--member=serviceAccount:${PUSH_SA}`)).toHaveLength(
        1,
      );
    expect(find('add-invoker-policy-binding', 'dashboard').map((s) => flag(s, 'member'))).toEqual([
      'group:data@example.com',
      'user:oncall@example.com',
    ]);
  });

  it("gives the functions' account only Firestore, publish on the topics the code publishes to, and a peek of control-dlq", () => {
    const runtime = 'serviceAccount:phasegate-fn@demo-project.iam.gserviceaccount.com';
    const grants = steps.filter((s) => s.argv.includes(`--member=${runtime}`));
    const on = (s: DeployStep) => s.argv[s.argv.indexOf('add-iam-policy-binding') + 1];
    expect(grants.map((s) => `${on(s)} ${flag(s, 'role')}`).sort()).toEqual(
      [
        'demo-project roles/datastore.user',
        'control-dlq-sub roles/pubsub.subscriber',
        ...[
          'run-requests',
          'processor-completions',
          'phase-scrape',
          'phase-raw',
          'phase-analytics',
          'phase-precompute',
          'phase-predict',
        ].map((t) => `${t} roles/pubsub.publisher`),
      ].sort(),
    );
  });

  it('deploys every function gen2 from the compiled output, private, with its memory, timeout and production auth', () => {
    const deploys = find('functions', 'deploy');
    expect(deploys.map((s) => s.argv[3])).toEqual(plan.functions.map((f) => f.name));
    for (const step of deploys) {
      const fn = plan.functions.find((f) => f.name === step.argv[3])!;
      expect(step.argv).toEqual(
        expect.arrayContaining([
          '--gen2',
          '--trigger-http',
          '--no-allow-unauthenticated',
          `--entry-point=${fn.entryPoint}`,
          `--memory=${fn.memoryMb}Mi`,
          `--timeout=${fn.timeoutSeconds}s`,
          '--runtime=nodejs20',
          '--source=.phasegate/deploy/source',
        ]),
      );
      const env = flag(step, 'set-env-vars')!;
      expect(env).toContain('GOOGLE_CLOUD_PROJECT=demo-project');
      expect(env).toContain('SOURCE_API_URL=https://stats.example.com');
      expect(env).toContain(
        fn.trigger.kind === 'pubsub'
          ? `PHASEGATE_AUTH=iam|PHASEGATE_PUSH_AUDIENCE=${functionUrl(target, fn.name)}|PHASEGATE_PUSH_SERVICE_ACCOUNT=${PUSH_SA}`
          : `DASHBOARD_AUTH=iam|DASHBOARD_AUDIENCES=${functionUrl(target, 'dashboard')},32555940559.apps.googleusercontent.com|DASHBOARD_ACTORS=oncall@example.com`,
      );
      // Readers are IAM invokers only: a group address in the function's environment would match nobody.
      expect(env).not.toContain('DASHBOARD_READERS');
    }
  });

  it('schedules the daily run, auto-retry and reconcile ticks on the definition crons, and declares every index', () => {
    const jobs = find('scheduler', 'create');
    // Full topic names: gcloud resolves a bare one against the default project while parsing.
    const topic = (t: string) => `projects/demo-project/topics/${t}`;
    expect(jobs.map((s) => `${s.argv[5]} ${flag(s, 'topic')} ${flag(s, 'schedule')}`)).toEqual([
      `phasegate-run ${topic('run-requests')} ${referenceDefinition.schedules.run.cron}`,
      `phasegate-auto-retry ${topic('auto-retry-ticks')} ${referenceDefinition.schedules.autoRetry.cron}`,
      `phasegate-reconcile ${topic('reconcile-ticks')} ${referenceDefinition.schedules.reconcile.cron}`,
      `phasegate-completeness ${topic('reconcile-ticks')} ${referenceDefinition.schedules.completeness!.cron}`,
    ]);
    expect(JSON.parse(flag(jobs[0]!, 'message-body')!)).toEqual({
      relative: -1,
      timeZone: referenceDefinition.schedules.run.timeZone,
      triggerSource: 'scheduled',
      requestedBy: 'cloud-scheduler',
    });
    expect(find('firestore', 'indexes', 'composite', 'create')).toHaveLength(indexes.length);
  });

  it('orders dependencies: APIs, then accounts, topics before subscriptions, functions before their subscriptions and invokers', () => {
    const at = (pred: (s: DeployStep) => boolean) => steps.findIndex(pred);
    const lastTopic = steps
      .map((s) => s.argv.includes('topics') && s.argv.includes('create'))
      .lastIndexOf(true);
    const lastFunction = steps.map((s) => s.argv.includes('deploy')).lastIndexOf(true);
    expect(at((s) => s.argv.includes('services'))).toBe(0);
    expect(at((s) => s.argv.includes('service-accounts') && s.argv.includes('create'))).toBeLessThan(
      at((s) => s.argv.includes('--role=roles/datastore.user')),
    );
    expect(lastTopic).toBeLessThan(at((s) => s.argv.includes('subscriptions') && s.argv.includes('create')));
    expect(lastFunction).toBeLessThan(at((s) => s.argv.includes('add-invoker-policy-binding')));
    expect(lastFunction).toBeLessThan(
      at((s) => s.argv.includes('subscriptions') && s.argv.includes('create')),
    );
  });

  it('prints as a script that matches the reviewed snapshot', async () => {
    const script = renderShell(steps, [
      `PROJECT_NUMBER="$(gcloud projects describe demo-project --format='value(projectNumber)')"`,
    ]);
    await expect(script).toMatchFileSnapshot('./__snapshots__/deploy-dry-run.sh');
  });

  it('quotes for the shell, leaving the project number to expand', () => {
    expect(shellQuote('--schedule=0 10 * * *')).toBe("'--schedule=0 10 * * *'");
    expect(shellQuote(`--member=${AGENT}`)).toBe(`"--member=${AGENT}"`);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});

describe('the local scheduler', () => {
  it('publishes the same bodies to the same topics as Cloud Scheduler, on the local periods', () => {
    const local = localJobs(referenceDefinition);
    expect(local.map((j) => ({ topic: j.topic, body: j.message() }))).toEqual(
      plan.schedules.map((j) => ({ topic: j.topic, body: j.body })),
    );
    expect(local.find((j) => j.name === 'reconcile')?.everySeconds).toBe(
      referenceDefinition.schedules.reconcile.localEverySeconds,
    );
  });
});

describe('the Terraform plan', () => {
  const tf = terraformPlan(referenceDefinition, target, indexes) as {
    resource: Record<string, Record<string, Record<string, unknown>>>;
  };
  const subs = Object.values(tf.resource.google_pubsub_subscription!);

  it('has the same subscriptions, each pushing with OIDC, retrying and dead-lettering', () => {
    expect(subs.map((s) => s.name).sort()).toEqual(plan.subscriptions.map((s) => s.name).sort());
    for (const sub of subs.filter((s) => s.push_config)) {
      expect(sub).toMatchObject({
        push_config: { oidc_token: { service_account_email: PUSH_SA } },
        dead_letter_policy: { max_delivery_attempts: expect.any(Number) as number },
        retry_policy: { minimum_backoff: expect.stringMatching(/s$/) as string },
      });
    }
  });

  it('has the same functions, topics, scheduler jobs, indexes and IAM', () => {
    expect(Object.values(tf.resource.google_cloudfunctions2_function!).map((f) => f.name)).toEqual(
      plan.functions.map((f) => f.name),
    );
    expect(Object.values(tf.resource.google_pubsub_topic!).map((t) => t.name)).toEqual(plan.topics);
    expect(Object.values(tf.resource.google_cloud_scheduler_job!).map((j) => j.name)).toEqual(
      plan.schedules.map((j) => j.name),
    );
    expect(Object.keys(tf.resource.google_firestore_index!)).toHaveLength(indexes.length);
    // The agent acks what it dead-letters; the functions' account peeks control-dlq.
    expect(Object.keys(tf.resource.google_pubsub_subscription_iam_member!)).toHaveLength(
      plan.subscriptions.filter((s) => s.deadLetter).length + 1,
    );
    expect(
      tf.resource.google_pubsub_subscription_iam_member!.control_dlq_sub_runtime_subscriber,
    ).toMatchObject({
      role: 'roles/pubsub.subscriber',
      member: 'serviceAccount:phasegate-fn@demo-project.iam.gserviceaccount.com',
    });
    const invokers = Object.values(tf.resource.google_cloud_run_service_iam_member!);
    expect(invokers.filter((i) => i.member === `serviceAccount:${PUSH_SA}`)).toHaveLength(
      plan.functions.filter((f) => f.trigger.kind === 'pubsub').length,
    );
    expect(JSON.stringify(tf)).toContain(
      'service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com',
    );
  });

  it('orders a first apply on a fresh project: the Pub/Sub agent exists before its grants, builds wait for their identity, the bucket for its API', () => {
    const r = tf.resource;
    expect(r.google_project_service_identity!.pubsub_agent).toMatchObject({
      provider: 'google-beta',
      service: 'pubsub.googleapis.com',
      depends_on: ['google_project_service.pubsub_googleapis_com'],
    });
    const agentGrants = [
      ...Object.values(r.google_pubsub_topic_iam_member!),
      ...Object.values(r.google_service_account_iam_member!),
      ...Object.values(r.google_pubsub_subscription_iam_member!),
    ].filter((g) => String(g.member).includes('gcp-sa-pubsub'));
    expect(agentGrants.length).toBeGreaterThan(0);
    for (const grant of agentGrants)
      expect(grant.depends_on).toContain('google_project_service_identity.pubsub_agent');
    const buildGrants = Object.keys(r.google_project_iam_member!)
      .filter((k) => k.startsWith('build_'))
      .map((k) => `google_project_iam_member.${k}`);
    expect(buildGrants).toHaveLength(4);
    for (const fn of Object.values(r.google_cloudfunctions2_function!))
      expect(fn.depends_on).toEqual(expect.arrayContaining(['google_service_account.build', ...buildGrants]));
    expect(r.google_storage_bucket!.source!.depends_on).toEqual([
      'google_project_service.storage_googleapis_com',
    ]);
    // A member who reads and acts is one binding, as in the gcloud plan.
    const both = terraformPlan(
      referenceDefinition,
      { ...target, dashboard: { readers: ['user:a@example.com'], actors: ['user:a@example.com'] } },
      indexes,
    ) as typeof tf;
    expect(
      Object.values(both.resource.google_cloud_run_service_iam_member!)
        .filter((m) => String(m.service).includes('dashboard'))
        .map((m) => m.member),
    ).toEqual(['user:a@example.com']);
    expect(r.google_project_service!.storage_googleapis_com).toBeDefined();
    expect(terraformPlan(referenceDefinition, target, indexes)).toHaveProperty([
      'terraform',
      'required_providers',
      'google-beta',
    ]);
  });
});

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
