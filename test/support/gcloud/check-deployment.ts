import { expect } from 'vitest';
import { functionUrl } from '../../../infra/deploy/target.ts';
import { EXPIRES_AT, TTL_COLLECTIONS } from '../../../shared/store/retention.ts';
import type { CommandResult } from '../../../scripts/lib/deploy-runner.ts';
import { NUMBER, plan, PROJECT, PUSH_SA, target } from './deploy-target.ts';
import type { GoogleApis, RecordedRequest } from './google-apis.ts';

/** A deploy through gcloud: what the stand-in saw, the commands gcloud ran, and how the process ended. */
export interface Deployed {
  apis: GoogleApis;
  commands: (readonly string[])[];
  result: CommandResult;
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

/** What a deploy must leave: every call known and in the project, subscriptions, jobs, functions and IAM as planned. */
export function checkDeployment({ apis, commands }: Deployed, world: 'empty' | 'existing'): void {
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

  // A TTL policy on expiresAt for each bookkeeping collection: what gcloud sends Firestore.
  const ttls = apis.requests.filter((r) => r.api === 'firestore' && r.method === 'PATCH' && r.status === 200);
  expect(ttls.map((r) => r.path).sort()).toEqual(
    TTL_COLLECTIONS.map(
      (c) => `/v1/projects/${PROJECT}/databases/(default)/collectionGroups/${c}/fields/${EXPIRES_AT}`,
    ).sort(),
  );
  for (const ttl of ttls) {
    expect(ttl.query.get('updateMask')).toBe('ttlConfig');
    expect(ttl.body).toMatchObject({ ttlConfig: {} });
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
