import type { LoadedDefinition } from '../../shared/definition/load.ts';
import type { FunctionPlan, SubscriptionPlan } from '../plan.ts';
import type { FirestoreIndex } from '../../shared/store/indexes.ts';
import { CONTROL_DLQ_SUBSCRIPTION } from '../../shared/messages/messages.ts';
import {
  BUILD_ROLES,
  deadLetterTopics,
  functionEnv,
  publishedTopics,
  pubsubServiceAgent,
  pushEndpointUrl,
  functionUrl,
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

const gcloud = (target: DeployTarget, ...args: string[]) => [
  'gcloud',
  ...args,
  `--project=${target.project}`,
  '--quiet',
];
const member = (email: string) => `serviceAccount:${email}`;

/** Readers and actors may both call the dashboard (IAM); each member once. */
export const dashboardInvokers = (target: Pick<DeployTarget, 'dashboard'>): string[] => [
  ...new Set([...target.dashboard.readers, ...target.dashboard.actors]),
];

/** gcloud splits `--set-env-vars` on commas; `^|^` makes `|` the separator so values may hold commas. */
export function envFlag(env: Record<string, string>): string {
  const pairs = Object.entries(env).map(([k, v]) => {
    if (v.includes('|')) throw new Error(`environment value of ${k} may not contain "|"`);
    return `${k}=${v}`;
  });
  return `--set-env-vars=^|^${pairs.join('|')}`;
}

function subscriptionFlags(target: DeployTarget, sub: SubscriptionPlan): string[] {
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

function functionStep(target: DeployTarget, fn: FunctionPlan): DeployStep {
  return {
    section: 'functions',
    argv: gcloud(
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
    ),
  };
}

export function indexFlags(index: FirestoreIndex): string[] {
  return [
    `--collection-group=${index.collectionGroup}`,
    `--query-scope=${index.queryScope}`,
    ...index.fields.map((f) => `--field-config=field-path=${f.fieldPath},order=${f.order.toLowerCase()}`),
  ];
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
  add(
    'iam',
    gcloud(
      target,
      'projects',
      'add-iam-policy-binding',
      target.project,
      `--member=${member(runtimeSa)}`,
      '--role=roles/datastore.user',
      '--condition=None',
    ),
  );
  for (const role of BUILD_ROLES) {
    add(
      'iam',
      gcloud(
        target,
        'projects',
        'add-iam-policy-binding',
        target.project,
        `--member=${member(buildSa)}`,
        `--role=${role}`,
        '--condition=None',
      ),
    );
  }
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
    add(
      'iam',
      gcloud(
        target,
        'pubsub',
        'topics',
        'add-iam-policy-binding',
        topic,
        `--member=${member(email)}`,
        '--role=roles/pubsub.publisher',
      ),
    );
  for (const topic of publishedTopics(definition)) publisher(topic, runtimeSa);
  // Dead-lettering publishes as the Pub/Sub service agent: without this, dead letters are dropped.
  for (const topic of deadLetterTopics(plan)) publisher(topic, agent);

  for (const fn of plan.functions) add('functions', functionStep(target, fn).argv);
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
    add(
      'iam',
      gcloud(
        target,
        'pubsub',
        'subscriptions',
        'add-iam-policy-binding',
        subscription,
        `--member=${member(email)}`,
        '--role=roles/pubsub.subscriber',
      ),
    );
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

/** POSIX shell quoting, for a plan a person can read and paste. */
export function shellQuote(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  // The project number is filled in by the script's first line.
  if (/^[\w@%+=:,./${}-]+$/.test(arg) && arg.includes('${PROJECT_NUMBER}')) return `"${arg}"`;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Marks where a step's update command starts, in the script's `run_step` lines. */
export const UPDATE_MARK = '::update::';

const RUN_STEP = [
  '# Any failure stops the script and says where: fix the cause and run it again.',
  'step=""',
  `trap 'echo "deploy stopped: \${step:-$BASH_COMMAND}" >&2; echo "fix the cause and run this script again: what ` +
    `exists is kept or updated" >&2' ERR`,
  '# run_step CREATE... [::update:: UPDATE...]: runs CREATE; when it fails because the resource',
  '# already exists, runs UPDATE, or keeps the resource as it is when there is none.',
  'run_step() {',
  '  local create=() update=() in_update=0 arg err',
  '  for arg in "$@"; do',
  `    if [[ $in_update == 0 && $arg == '${UPDATE_MARK}' ]]; then in_update=1`,
  '    elif [[ $in_update == 1 ]]; then update+=("$arg")',
  '    else create+=("$arg"); fi',
  '  done',
  '  step="${create[*]}"',
  '  err="$(mktemp)"',
  '  if "${create[@]}" 2>"$err"; then cat "$err" >&2; rm -f "$err"; step=""; return 0; fi',
  '  cat "$err" >&2',
  '  if ! grep -qiE "already exists|ALREADY_EXISTS" "$err"; then rm -f "$err"; return 1; fi',
  '  rm -f "$err"',
  '  if [[ ${#update[@]} -eq 0 ]]; then echo "  (exists: kept as is)" >&2; step=""; return 0; fi',
  '  echo "  (exists: updating)" >&2',
  '  step="${update[*]}"',
  '  "${update[@]}" || return 1',
  '  step=""',
  '}',
];

/**
 * The plan as a script a person can read, run and run again: one command per step; a create
 * whose resource exists is kept or updated (`run_step`); every other step is idempotent.
 */
export function renderShell(steps: readonly DeployStep[], preamble: readonly string[] = []): string {
  const lines = [
    '#!/usr/bin/env bash',
    '# phasegate deploy plan: run from the repository root, after `npm run build`. Safe to run again:',
    '# what exists is kept or updated, every binding is added only once.',
    'set -euo pipefail',
    ...RUN_STEP,
    ...preamble,
  ];
  let section = '';
  for (const step of steps) {
    if (step.section !== section) {
      section = step.section;
      lines.push('', `# --- ${section}`);
    }
    const command = step.argv.map(shellQuote).join(' ');
    if (!step.ifExists) lines.push(command);
    else if (step.ifExists === 'skip') lines.push(`run_step ${command}`);
    else
      lines.push(
        `run_step ${command} \\`,
        `  ${UPDATE_MARK} ${step.ifExists.update.map(shellQuote).join(' ')}`,
      );
  }
  return `${lines.join('\n')}\n`;
}
