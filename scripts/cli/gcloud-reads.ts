// What gcloud reports of a project: its number (for deploy), its scheduler jobs and who may invoke
// its functions (for `validate --live`). Each runs gcloud.
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { planResources } from '../../infra/plan.ts';
import {
  parseInvokers,
  parseSchedulerJobs,
  type LiveInvokers,
  type LiveScheduleJob,
} from '../../infra/validate/live-state.ts';
import { runCommand } from '../lib/deploy-runner.ts';
import { UsageError } from './usage-error.ts';

/** The project number, which names the project's Pub/Sub service agent. */
export async function projectNumberOf(projectId: string): Promise<string> {
  const described = await runCommand([
    'gcloud',
    'projects',
    'describe',
    projectId,
    '--format=value(projectNumber)',
  ]);
  if (described.code !== 0)
    throw new UsageError(`cannot read the project number of ${projectId}: ${described.stderr.trim()}`);
  return described.stdout.trim();
}

/** A real project, and the region its functions and scheduler jobs are in. */
export interface GcloudProject {
  projectId: string;
  region: string;
}

/** The project's Cloud Scheduler jobs in its region. */
export async function listSchedulerJobs({ projectId, region }: GcloudProject): Promise<LiveScheduleJob[]> {
  const listed = await runCommand([
    'gcloud',
    'scheduler',
    'jobs',
    'list',
    `--location=${region}`,
    `--project=${projectId}`,
    '--format=json',
  ]);
  if (listed.code !== 0) throw new Error(`gcloud scheduler jobs list failed: ${listed.stderr.trim()}`);
  return parseSchedulerJobs(listed.stdout);
}

/** Who may invoke each function of the definition's plan (its Cloud Run service's IAM policy). */
export async function readInvokers(
  definition: LoadedDefinition,
  { projectId, region }: GcloudProject,
): Promise<LiveInvokers> {
  const invokers: LiveInvokers = {};
  for (const fn of planResources(definition).functions) {
    const read = await runCommand([
      'gcloud',
      'run',
      'services',
      'get-iam-policy',
      fn.name,
      `--region=${region}`,
      `--project=${projectId}`,
      '--format=json',
    ]);
    if (read.code !== 0)
      throw new Error(`gcloud run services get-iam-policy ${fn.name} failed: ${read.stderr.trim()}`);
    invokers[fn.name] = parseInvokers(read.stdout);
  }
  return invokers;
}
