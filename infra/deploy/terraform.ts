import { CONTROL_DLQ_SUBSCRIPTION } from '../../shared/messages/messages.ts';
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import type { FirestoreIndex } from '../../shared/store/indexes.ts';
import { dashboardInvokers } from './gcloud.ts';
import {
  BUILD_ROLES,
  deadLetterTopics,
  functionEnv,
  functionUrl,
  publishedTopics,
  pubsubServiceAgent,
  pushEndpointUrl,
  REQUIRED_APIS,
  resourcesFor,
  SERVICE_ACCOUNTS,
  serviceAccountEmail,
  type DeployTarget,
} from './target.ts';

type Block = Record<string, unknown>;

const buildGrant = (role: string) => tfName(`build_${role.split('/')[1]!}`);

/** Terraform names: letters, digits, `_`. */
const tfName = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, '_');
const ref = (type: string, name: string, attr = 'id') => `\${${type}.${tfName(name)}.${attr}}`;

/**
 * The same deployment as `gcloudPlan`, as Terraform JSON for the google provider. The source
 * archive is `source/` beside the file (what `phasegate deploy` stages).
 */
export function terraformPlan(
  definition: LoadedDefinition,
  target: Omit<DeployTarget, 'projectNumber'>,
  indexes: readonly FirestoreIndex[],
): Block {
  const plan = resourcesFor(definition);
  const t: DeployTarget = { ...target, projectNumber: '${data.google_project.this.number}' };
  const resources: Record<string, Record<string, Block>> = {};
  const add = (type: string, name: string, body: Block) => {
    (resources[type] ??= {})[tfName(name)] = body;
  };
  const project = target.project;
  const runtimeSa = serviceAccountEmail(t, 'runtime');
  const pushSa = serviceAccountEmail(t, 'push');
  const agent = `serviceAccount:${pubsubServiceAgent(t)}`;
  const apis = REQUIRED_APIS.map((api) => `google_project_service.${tfName(api)}`);
  const api = (name: (typeof REQUIRED_APIS)[number]) => `google_project_service.${tfName(name)}`;

  for (const api of REQUIRED_APIS)
    add('google_project_service', api, { project, service: api, disable_on_destroy: false });
  add('google_firestore_database', 'default', {
    project,
    name: '(default)',
    location_id: target.region,
    type: 'FIRESTORE_NATIVE',
    depends_on: apis,
  });
  for (const [key, sa] of Object.entries(SERVICE_ACCOUNTS))
    add('google_service_account', key, {
      project,
      account_id: sa.id,
      display_name: sa.displayName,
      depends_on: apis,
    });
  const saRef = (key: keyof typeof SERVICE_ACCOUNTS) => `google_service_account.${key}`;

  add('google_project_iam_member', 'runtime_datastore', {
    project,
    role: 'roles/datastore.user',
    member: `serviceAccount:${runtimeSa}`,
    depends_on: [saRef('runtime')],
  });
  for (const role of BUILD_ROLES) {
    add('google_project_iam_member', buildGrant(role), {
      project,
      role,
      member: `serviceAccount:${serviceAccountEmail(t, 'build')}`,
      depends_on: [saRef('build')],
    });
  }
  // The Pub/Sub service agent exists only once something asks for it; every grant to it below waits for it.
  add('google_project_service_identity', 'pubsub_agent', {
    provider: 'google-beta',
    project,
    service: 'pubsub.googleapis.com',
    depends_on: [api('pubsub.googleapis.com')],
  });
  const agentReady = ['google_project_service_identity.pubsub_agent'];
  add('google_service_account_iam_member', 'push_token_creator', {
    service_account_id: ref('google_service_account', 'push', 'name'),
    role: 'roles/iam.serviceAccountTokenCreator',
    member: agent,
    depends_on: agentReady,
  });

  for (const topic of plan.topics)
    add('google_pubsub_topic', topic, { project, name: topic, depends_on: apis });
  for (const topic of publishedTopics(definition))
    add('google_pubsub_topic_iam_member', `${topic}_runtime_publisher`, {
      project,
      topic: ref('google_pubsub_topic', topic, 'name'),
      role: 'roles/pubsub.publisher',
      member: `serviceAccount:${runtimeSa}`,
    });
  for (const topic of deadLetterTopics(plan))
    add('google_pubsub_topic_iam_member', `${topic}_agent_publisher`, {
      project,
      topic: ref('google_pubsub_topic', topic, 'name'),
      role: 'roles/pubsub.publisher',
      member: agent,
      depends_on: agentReady,
    });

  add('google_storage_bucket', 'source', {
    project,
    name: `${project}-phasegate-source`,
    location: target.region,
    uniform_bucket_level_access: true,
    force_destroy: true,
    depends_on: [api('storage.googleapis.com')],
  });
  // A build starts as soon as its function is created: its identity and every grant it builds with must exist first.
  const buildReady = [
    saRef('build'),
    ...BUILD_ROLES.map((role) => `google_project_iam_member.${buildGrant(role)}`),
  ];
  add('google_storage_bucket_object', 'source', {
    name: 'source-${data.archive_file.source.output_md5}.zip',
    bucket: ref('google_storage_bucket', 'source', 'name'),
    source: '${data.archive_file.source.output_path}',
  });

  for (const fn of plan.functions) {
    add('google_cloudfunctions2_function', fn.name, {
      project,
      name: fn.name,
      location: target.region,
      build_config: {
        runtime: target.runtime,
        entry_point: fn.entryPoint,
        service_account: `projects/${project}/serviceAccounts/${serviceAccountEmail(t, 'build')}`,
        source: {
          storage_source: {
            bucket: ref('google_storage_bucket', 'source', 'name'),
            object: ref('google_storage_bucket_object', 'source', 'name'),
          },
        },
      },
      service_config: {
        available_memory: `${fn.memoryMb}Mi`,
        timeout_seconds: fn.timeoutSeconds,
        service_account_email: runtimeSa,
        ingress_settings: 'ALLOW_ALL',
        environment_variables: functionEnv(t, fn),
      },
      depends_on: [...apis, 'google_project_iam_member.runtime_datastore', ...buildReady],
    });
    const members = fn.trigger.kind === 'pubsub' ? [`serviceAccount:${pushSa}`] : dashboardInvokers(target);
    members.forEach((member, i) =>
      add('google_cloud_run_service_iam_member', `${fn.name}_invoker_${i}`, {
        project,
        location: target.region,
        service: ref('google_cloudfunctions2_function', fn.name, 'name'),
        role: 'roles/run.invoker',
        member,
      }),
    );
  }

  for (const sub of plan.subscriptions) {
    const body: Block = {
      project,
      name: sub.name,
      topic: ref('google_pubsub_topic', sub.topic, 'id'),
      ack_deadline_seconds: sub.ackDeadlineSeconds,
    };
    if (sub.pushTo) {
      body.push_config = {
        push_endpoint: pushEndpointUrl(t, sub.pushTo, sub.topic),
        oidc_token: { service_account_email: pushSa, audience: functionUrl(t, sub.pushTo) },
      };
      body.depends_on = [`google_cloudfunctions2_function.${tfName(sub.pushTo)}`];
    } else {
      Object.assign(body, { message_retention_duration: '604800s', expiration_policy: { ttl: '' } });
    }
    if (sub.retryPolicy)
      body.retry_policy = {
        minimum_backoff: `${sub.retryPolicy.minBackoffSeconds}s`,
        maximum_backoff: `${sub.retryPolicy.maxBackoffSeconds}s`,
      };
    if (sub.deadLetter) {
      body.dead_letter_policy = {
        dead_letter_topic: ref('google_pubsub_topic', sub.deadLetter.topic, 'id'),
        max_delivery_attempts: sub.deadLetter.maxDeliveryAttempts,
      };
      add('google_pubsub_subscription_iam_member', `${sub.name}_agent_subscriber`, {
        project,
        subscription: ref('google_pubsub_subscription', sub.name, 'name'),
        role: 'roles/pubsub.subscriber',
        member: agent,
        depends_on: agentReady,
      });
    }
    add('google_pubsub_subscription', sub.name, body);
  }

  // The reconcile tick (an alert) and the dashboard peek control-dlq: pull, then hand back at once.
  add('google_pubsub_subscription_iam_member', `${CONTROL_DLQ_SUBSCRIPTION}_runtime_subscriber`, {
    project,
    subscription: ref('google_pubsub_subscription', CONTROL_DLQ_SUBSCRIPTION, 'name'),
    role: 'roles/pubsub.subscriber',
    member: `serviceAccount:${runtimeSa}`,
  });

  indexes.forEach((index, i) =>
    add('google_firestore_index', `${index.collectionGroup}_${i}`, {
      project,
      database: '(default)',
      collection: index.collectionGroup,
      query_scope: index.queryScope,
      fields: index.fields.map((f) => ({ field_path: f.fieldPath, order: f.order })),
      depends_on: ['google_firestore_database.default'],
    }),
  );

  for (const job of plan.schedules) {
    add('google_cloud_scheduler_job', job.name, {
      project,
      name: job.name,
      region: target.region,
      schedule: job.cron,
      time_zone: job.timeZone,
      pubsub_target: {
        topic_name: ref('google_pubsub_topic', job.topic, 'id'),
        data: Buffer.from(JSON.stringify(job.body)).toString('base64'),
      },
      depends_on: apis,
    });
  }

  return {
    terraform: {
      required_providers: {
        google: { source: 'hashicorp/google', version: '>= 6.0' },
        'google-beta': { source: 'hashicorp/google-beta', version: '>= 6.0' },
        archive: { source: 'hashicorp/archive', version: '>= 2.4' },
      },
    },
    provider: {
      google: { project, region: target.region },
      'google-beta': { project, region: target.region },
    },
    data: {
      google_project: { this: { project_id: project } },
      archive_file: {
        source: {
          type: 'zip',
          source_dir: '${path.module}/source',
          output_path: '${path.module}/phasegate-source.zip',
        },
      },
    },
    resource: resources,
  };
}
