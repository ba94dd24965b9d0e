import type { LoadedDefinition } from '../../shared/definition/load.ts';
import type { FirestoreIndex } from '../../shared/store/indexes.ts';
import { CONTROL_DLQ_SUBSCRIPTION } from '../../shared/messages/messages.ts';
import { EXPIRES_AT, TTL_COLLECTIONS } from '../../shared/store/retention.ts';
import {
  functionDeploy,
  gcloud,
  indexFlags,
  member,
  projectGrant,
  pubsubGrant,
  subscriptionFlags,
} from './gcloud-commands.ts';
import {
  BUILD_ROLES,
  dashboardInvokers,
  deadLetterTopics,
  publishedTopics,
  pubsubServiceAgent,
  REQUIRED_APIS,
  resourcesFor,
  SERVICE_ACCOUNTS,
  serviceAccountEmail,
  type DeployTarget,
} from './target.ts';

/**
 * One gcloud command. `ifExists` makes a create idempotent: when gcloud says the resource
 * already exists, run `update` instead, or nothing (`skip`).
 */
export interface DeployStep {
  section: string;
  argv: string[];
  ifExists?: 'skip' | { update: string[] };
}

/** The whole deployment as ordered gcloud commands, from nothing to a scheduled pipeline. */
export function gcloudPlan(
  definition: LoadedDefinition,
  target: DeployTarget,
  indexes: readonly FirestoreIndex[],
): DeployStep[] {
  const plan = resourcesFor(definition);
  const steps: DeployStep[] = [];
  const add = (section: string, argv: string[], ifExists?: DeployStep['ifExists']) =>
    steps.push({ section, argv, ...(ifExists ? { ifExists } : {}) });
  const runtimeSa = serviceAccountEmail(target, 'runtime');
  const pushSa = serviceAccountEmail(target, 'push');
  const buildSa = serviceAccountEmail(target, 'build');
  const agent = pubsubServiceAgent(target);

  add('apis', gcloud(target, 'services', 'enable', ...REQUIRED_APIS));
  // The Pub/Sub service agent is made lazily; the IAM bindings below need it now.
  add('apis', gcloud(target, 'beta', 'services', 'identity', 'create', '--service=pubsub.googleapis.com'));
  add(
    'firestore',
    gcloud(
      target,
      'firestore',
      'databases',
      'create',
      `--location=${target.region}`,
      '--type=firestore-native',
    ),
    'skip',
  );
  for (const sa of Object.values(SERVICE_ACCOUNTS))
    add(
      'service accounts',
      gcloud(target, 'iam', 'service-accounts', 'create', sa.id, `--display-name=${sa.displayName}`),
      'skip',
    );

  // The functions' identity: Firestore (no narrower role exists), and publish only where they publish.
  add('iam', projectGrant(target, runtimeSa, 'roles/datastore.user'));
  for (const role of BUILD_ROLES) add('iam', projectGrant(target, buildSa, role));
  // Pub/Sub mints the push OIDC tokens as the push service account.
  add(
    'iam',
    gcloud(
      target,
      'iam',
      'service-accounts',
      'add-iam-policy-binding',
      pushSa,
      `--member=${member(agent)}`,
      '--role=roles/iam.serviceAccountTokenCreator',
    ),
  );

  for (const topic of plan.topics) add('topics', gcloud(target, 'pubsub', 'topics', 'create', topic), 'skip');
  const publisher = (topic: string, email: string) =>
    add('iam', pubsubGrant(target, 'topics', topic, email, 'roles/pubsub.publisher'));
  for (const topic of publishedTopics(definition)) publisher(topic, runtimeSa);
  // Dead-lettering publishes as the Pub/Sub service agent: without this, dead letters are dropped.
  for (const topic of deadLetterTopics(plan)) publisher(topic, agent);

  for (const fn of plan.functions) add('functions', functionDeploy(target, fn));
  for (const fn of plan.functions) {
    const members = fn.trigger.kind === 'pubsub' ? [member(pushSa)] : dashboardInvokers(target);
    for (const m of members)
      add(
        'iam',
        gcloud(
          target,
          'functions',
          'add-invoker-policy-binding',
          fn.name,
          `--region=${target.region}`,
          `--member=${m}`,
        ),
      );
  }

  for (const sub of plan.subscriptions) {
    const flags = subscriptionFlags(target, sub);
    add(
      'subscriptions',
      gcloud(target, 'pubsub', 'subscriptions', 'create', sub.name, `--topic=${sub.topic}`, ...flags),
      { update: gcloud(target, 'pubsub', 'subscriptions', 'update', sub.name, ...flags) },
    );
  }
  const subscriber = (subscription: string, email: string) =>
    add('iam', pubsubGrant(target, 'subscriptions', subscription, email, 'roles/pubsub.subscriber'));
  // ...and acks, as the service agent, the message it dead-letters from the source subscription.
  for (const sub of plan.subscriptions) if (sub.deadLetter) subscriber(sub.name, agent);
  // The reconcile tick (an alert) and the dashboard peek control-dlq: pull, then hand back at once.
  subscriber(CONTROL_DLQ_SUBSCRIPTION, runtimeSa);

  for (const index of indexes)
    add(
      'firestore indexes',
      gcloud(target, 'firestore', 'indexes', 'composite', 'create', ...indexFlags(index), '--async'),
      'skip',
    );
  // Firestore deletes expired bookkeeping itself; `update` sets the policy, so a second run changes nothing.
  for (const collection of TTL_COLLECTIONS)
    add(
      'firestore ttl',
      gcloud(
        target,
        'firestore',
        'fields',
        'ttls',
        'update',
        EXPIRES_AT,
        `--collection-group=${collection}`,
        '--enable-ttl',
        '--async',
      ),
    );

  for (const job of plan.schedules) {
    // The full name: gcloud resolves a bare topic while parsing, against the default project, not --project.
    const topic = `projects/${target.project}/topics/${job.topic}`;
    const flags = [
      `--location=${target.region}`,
      `--schedule=${job.cron}`,
      `--time-zone=${job.timeZone}`,
      `--topic=${topic}`,
      `--message-body=${JSON.stringify(job.body)}`,
    ];
    add('scheduler', gcloud(target, 'scheduler', 'jobs', 'create', 'pubsub', job.name, ...flags), {
      update: gcloud(target, 'scheduler', 'jobs', 'update', 'pubsub', job.name, ...flags),
    });
  }
  return steps;
}
