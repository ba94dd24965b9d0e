import { describe, expect, it } from 'vitest';
import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { renderShell, shellQuote } from '../../infra/deploy/deploy-script.ts';
import type { DeployStep } from '../../infra/deploy/gcloud.ts';
import { functionUrl, pushEndpointUrl } from '../../infra/deploy/target.ts';
import { AGENT, find, flag, indexes, plan, PUSH_SA, steps, target } from '../support/demo-deploy.ts';

describe('the gcloud deployment plan', () => {
  it(
    'creates every topic, and one push subscription per (topic, function) with OIDC, retry, DLQ ' +
      'and an ack deadline above the timeout',
    () => {
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
      for (const dlq of new Set(
        plan.subscriptions.flatMap((s) => (s.deadLetter ? [s.deadLetter.topic] : [])),
      ))
        expect(find('subscriptions', 'create', `--topic=${dlq}`)).toHaveLength(1);
    },
  );

  it(
    'grants the Pub/Sub service agent publish on every DLQ and subscribe on every source subscription, ' +
      'the push account invoke on every push target',
    () => {
      const dlqs = new Set(plan.subscriptions.flatMap((s) => (s.deadLetter ? [s.deadLetter.topic] : [])));
      for (const topic of dlqs)
        expect(
          find(
            'topics',
            'add-iam-policy-binding',
            topic,
            `--member=${AGENT}`,
            '--role=roles/pubsub.publisher',
          ),
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
        expect(
          find('add-invoker-policy-binding', fn.name, `--member=serviceAccount:${PUSH_SA}`),
        ).toHaveLength(1);
      expect(find('add-invoker-policy-binding', 'dashboard').map((s) => flag(s, 'member'))).toEqual([
        'group:data@example.com',
        'user:oncall@example.com',
      ]);
    },
  );

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
          : `DASHBOARD_AUTH=iam|DASHBOARD_AUDIENCES=${functionUrl(target, 'dashboard')},` +
              `32555940559.apps.googleusercontent.com|DASHBOARD_ACTORS=oncall@example.com`,
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
