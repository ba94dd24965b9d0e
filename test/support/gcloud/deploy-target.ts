import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { referenceDefinition } from '../../../functions/pipeline/definition.ts';
import { declaredIndexesPath, readIndexesFile } from '../../../shared/adapters/declared-indexes.ts';
import { gcloudPlan } from '../../../infra/deploy/gcloud.ts';
import type { DeployTarget } from '../../../infra/deploy/target.ts';
import { planResources } from '../../../infra/plan.ts';
import { runCommand, type RunCommand } from '../../../scripts/lib/deploy-runner.ts';

/** The project the deploy tests deploy the reference pipeline to, and its plan. */
export const PROJECT = 'demo-project';
export const NUMBER = '123456789012';
export const out = join(mkdtempSync(join(tmpdir(), 'phasegate-deploy-')), 'deploy');
export const target: DeployTarget = {
  project: PROJECT,
  region: 'europe-west1',
  projectNumber: NUMBER,
  env: { SOURCE_API_URL: 'https://stats.example.com' },
  dashboard: {
    readers: ['group:data@example.com', 'domain:example.com'],
    actors: ['user:oncall@example.com'],
  },
  // Where `phasegate deploy --out` stages the compiled source it uploads.
  source: join(out, 'source'),
  runtime: 'nodejs20',
};
export const steps = gcloudPlan(referenceDefinition, target, readIndexesFile(declaredIndexesPath()));
export const plan = planResources(referenceDefinition);
export const PUSH_SA = `phasegate-push@${PROJECT}.iam.gserviceaccount.com`;

/** gcloud's or bash's own output is kept for the assertions, not echoed into the test log. */
export const runQuiet: RunCommand = (argv, options) => runCommand(argv, { ...options, quiet: true });
