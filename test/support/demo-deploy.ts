import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { readIndexesFile, declaredIndexesPath } from '../../shared/adapters/declared-indexes.ts';
import { gcloudPlan, type DeployStep } from '../../infra/deploy/gcloud.ts';
import { PROJECT_NUMBER_PLACEHOLDER, type DeployTarget } from '../../infra/deploy/target.ts';
import { planResources } from '../../infra/plan.ts';

/** The reference pipeline planned for a demo project, its number left to the script to look up. */
export const target: DeployTarget = {
  project: 'demo-project',
  region: 'europe-west1',
  projectNumber: PROJECT_NUMBER_PLACEHOLDER,
  env: { SOURCE_API_URL: 'https://stats.example.com' },
  dashboard: { readers: ['group:data@example.com'], actors: ['user:oncall@example.com'] },
  source: '.phasegate/deploy/source',
  runtime: 'nodejs20',
};
export const indexes = readIndexesFile(declaredIndexesPath());
export const plan = planResources(referenceDefinition);
export const steps = gcloudPlan(referenceDefinition, target, indexes);
export const PUSH_SA = 'phasegate-push@demo-project.iam.gserviceaccount.com';
export const AGENT = 'serviceAccount:service-${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com';

/** The value of `--name=` in a step; the steps whose arguments include every one of `words`. */
export const flag = (step: DeployStep, name: string) =>
  step.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
export const find = (...words: string[]) => steps.filter((s) => words.every((w) => s.argv.includes(w)));
