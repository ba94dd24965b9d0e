import type { LoadedDefinition } from '../../shared/definition/load.ts';
import type { FirestoreIndex } from '../../shared/store/indexes.ts';
import { EXPIRES_AT, TTL_COLLECTIONS } from '../../shared/store/retention.ts';
import { resourcesFor, SERVICE_ACCOUNTS, REQUIRED_APIS, type DeployTarget } from './target.ts';
import { addBuildGrants, addFunctions } from './terraform-functions.ts';
import { addSubscriptions, addTopics } from './terraform-pubsub.ts';
import { apiRef, ref, saRef, terraformScope, type Block } from './terraform-scope.ts';

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
  const { scope, resources } = terraformScope(target);
  const { add, project, apis } = scope;

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

  add('google_project_iam_member', 'runtime_datastore', {
    project,
    role: 'roles/datastore.user',
    member: `serviceAccount:${scope.runtimeSa}`,
    depends_on: [saRef('runtime')],
  });
  addBuildGrants(scope);
  // The Pub/Sub service agent exists only once something asks for it; every grant to it below waits for it.
  add('google_project_service_identity', 'pubsub_agent', {
    provider: 'google-beta',
    project,
    service: 'pubsub.googleapis.com',
    depends_on: [apiRef('pubsub.googleapis.com')],
  });
  add('google_service_account_iam_member', 'push_token_creator', {
    service_account_id: ref('google_service_account', 'push', 'name'),
    role: 'roles/iam.serviceAccountTokenCreator',
    member: scope.agent,
    depends_on: scope.agentReady,
  });

  addTopics(scope, definition, plan);
  addFunctions(scope, plan);
  addSubscriptions(scope, plan);

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
  // No index_config: the field keeps its inherited single-field indexes (an empty block would drop them).
  for (const collection of TTL_COLLECTIONS)
    add('google_firestore_field', `${collection}_ttl`, {
      project,
      database: '(default)',
      collection,
      field: EXPIRES_AT,
      ttl_config: {},
      depends_on: ['google_firestore_database.default'],
    });

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
