import type { ResourcePlan } from '../plan.ts';
import { BUILD_ROLES, dashboardInvokers, functionEnv, serviceAccountEmail } from './target.ts';
import { apiRef, ref, saRef, tfName, type TerraformScope } from './terraform-scope.ts';

const buildGrant = (role: string) => tfName(`build_${role.split('/')[1]!}`);

/** What the build service account may do on the project: run builds and read the uploaded source. */
export function addBuildGrants(scope: TerraformScope): void {
  for (const role of BUILD_ROLES) {
    scope.add('google_project_iam_member', buildGrant(role), {
      project: scope.project,
      role,
      member: `serviceAccount:${serviceAccountEmail(scope.target, 'build')}`,
      depends_on: [saRef('build')],
    });
  }
}

/**
 * The source archive in its bucket, every function built from it, and who may invoke each: the
 * push service account a Pub/Sub-driven function, the dashboard's members the dashboard.
 */
export function addFunctions(scope: TerraformScope, plan: ResourcePlan): void {
  const { add, project, target } = scope;
  add('google_storage_bucket', 'source', {
    project,
    name: `${project}-phasegate-source`,
    location: target.region,
    uniform_bucket_level_access: true,
    force_destroy: true,
    depends_on: [apiRef('storage.googleapis.com')],
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
        service_account: `projects/${project}/serviceAccounts/${serviceAccountEmail(target, 'build')}`,
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
        service_account_email: scope.runtimeSa,
        ingress_settings: 'ALLOW_ALL',
        environment_variables: functionEnv(target, fn),
      },
      depends_on: [...scope.apis, 'google_project_iam_member.runtime_datastore', ...buildReady],
    });
    const members =
      fn.trigger.kind === 'pubsub' ? [`serviceAccount:${scope.pushSa}`] : dashboardInvokers(target);
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
}
