import type { FirestoreIndex } from '../../shared/store/indexes.ts';
import type { FunctionPlan, SubscriptionPlan } from '../plan.ts';
import {
  functionEnv,
  functionUrl,
  pushEndpointUrl,
  serviceAccountEmail,
  type DeployTarget,
} from './target.ts';

/** One gcloud command line: always against the target's project, never asking a question. */
export const gcloud = (target: Pick<DeployTarget, 'project'>, ...args: string[]): string[] => [
  'gcloud',
  ...args,
  `--project=${target.project}`,
  '--quiet',
];
export const member = (email: string): string => `serviceAccount:${email}`;

/** Grants a service account a role on the whole project. */
export const projectGrant = (target: Pick<DeployTarget, 'project'>, email: string, role: string): string[] =>
  gcloud(
    target,
    'projects',
    'add-iam-policy-binding',
    target.project,
    `--member=${member(email)}`,
    `--role=${role}`,
    '--condition=None',
  );

/** Grants a service account a role on one Pub/Sub topic or subscription. */
export const pubsubGrant = (
  target: Pick<DeployTarget, 'project'>,
  kind: 'topics' | 'subscriptions',
  name: string,
  email: string,
  role: string,
): string[] =>
  gcloud(
    target,
    'pubsub',
    kind,
    'add-iam-policy-binding',
    name,
    `--member=${member(email)}`,
    `--role=${role}`,
  );

/** gcloud splits `--set-env-vars` on commas; `^|^` makes `|` the separator so values may hold commas. */
export function envFlag(env: Record<string, string>): string {
  const pairs = Object.entries(env).map(([k, v]) => {
    if (v.includes('|')) throw new Error(`environment value of ${k} may not contain "|"`);
    return `${k}=${v}`;
  });
  return `--set-env-vars=^|^${pairs.join('|')}`;
}

/** The flags of `pubsub subscriptions create` and `update`: delivery, retry and dead-lettering. */
export function subscriptionFlags(target: DeployTarget, sub: SubscriptionPlan): string[] {
  const flags = [`--ack-deadline=${sub.ackDeadlineSeconds}`];
  if (sub.pushTo) {
    flags.push(
      `--push-endpoint=${pushEndpointUrl(target, sub.pushTo, sub.topic)}`,
      `--push-auth-service-account=${serviceAccountEmail(target, 'push')}`,
      `--push-auth-token-audience=${functionUrl(target, sub.pushTo)}`,
    );
  } else {
    // The last-resort hold is read by a person: keep its messages as long as Pub/Sub allows.
    flags.push('--message-retention-duration=7d', '--expiration-period=never');
  }
  if (sub.retryPolicy)
    flags.push(
      `--min-retry-delay=${sub.retryPolicy.minBackoffSeconds}s`,
      `--max-retry-delay=${sub.retryPolicy.maxBackoffSeconds}s`,
    );
  if (sub.deadLetter)
    flags.push(
      `--dead-letter-topic=${sub.deadLetter.topic}`,
      `--max-delivery-attempts=${sub.deadLetter.maxDeliveryAttempts}`,
    );
  return flags;
}

/** `functions deploy` of one gen2 function: created, or updated in place when it exists. */
export function functionDeploy(target: DeployTarget, fn: FunctionPlan): string[] {
  return gcloud(
    target,
    'functions',
    'deploy',
    fn.name,
    '--gen2',
    `--region=${target.region}`,
    `--runtime=${target.runtime}`,
    `--source=${target.source}`,
    `--entry-point=${fn.entryPoint}`,
    // Pub/Sub-driven functions are HTTP endpoints of their own push subscriptions, never public.
    '--trigger-http',
    '--no-allow-unauthenticated',
    '--ingress-settings=all',
    `--service-account=${serviceAccountEmail(target, 'runtime')}`,
    `--build-service-account=projects/${target.project}/serviceAccounts/${serviceAccountEmail(target, 'build')}`,
    `--memory=${fn.memoryMb}Mi`,
    `--timeout=${fn.timeoutSeconds}s`,
    envFlag(functionEnv(target, fn)),
  );
}

export function indexFlags(index: FirestoreIndex): string[] {
  return [
    `--collection-group=${index.collectionGroup}`,
    `--query-scope=${index.queryScope}`,
    ...index.fields.map((f) => `--field-config=field-path=${f.fieldPath},order=${f.order.toLowerCase()}`),
  ];
}
