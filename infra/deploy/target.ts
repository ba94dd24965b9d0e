import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { phaseTopic, TOPICS } from '../../shared/messages/messages.ts';
import { CONTROL_DLQ_TOPIC, planResources, type FunctionPlan, type ResourcePlan } from '../plan.ts';

/** Where and how to deploy: everything not in the definition. */
export interface DeployTarget {
  project: string;
  region: string;
  /** Needed for the Pub/Sub service agent's identity; `${PROJECT_NUMBER}` until resolved. */
  projectNumber: string;
  /** Environment every function gets on top of phasegate's own (e.g. SOURCE_API_URL). */
  env: Record<string, string>;
  /**
   * IAM members of the dashboard. Readers may be any member (`user:`, `group:`, `domain:`,
   * `serviceAccount:`); actors are individual accounts (`user:`, `serviceAccount:`), since a token
   * names one account and never its groups. Both are invokers; only actors may change the queue.
   */
  dashboard: { readers: string[]; actors: string[] };
  /** The folder uploaded as each function's source: compiled `dist/` plus package.json. */
  source: string;
  /** Node.js runtime of the functions. */
  runtime: string;
}

/** What the build service account needs: run builds, write their logs, push the image, read the uploaded source. */
export const BUILD_ROLES = [
  'roles/cloudbuild.builds.builder',
  'roles/logging.logWriter',
  'roles/artifactregistry.writer',
  'roles/storage.objectViewer',
] as const;

export const PROJECT_NUMBER_PLACEHOLDER = '${PROJECT_NUMBER}';

/** APIs a fresh project must have on. */
export const REQUIRED_APIS = [
  'cloudfunctions.googleapis.com',
  'run.googleapis.com',
  'cloudbuild.googleapis.com',
  'artifactregistry.googleapis.com',
  'pubsub.googleapis.com',
  'firestore.googleapis.com',
  'cloudscheduler.googleapis.com',
  'iam.googleapis.com',
  'logging.googleapis.com',
  // The functions' source is uploaded to a bucket (gcloud's, or Terraform's own).
  'storage.googleapis.com',
] as const;

/** Service accounts phasegate creates: one identity per job, none with more than it uses. */
export const SERVICE_ACCOUNTS = {
  /** The functions at run time: Firestore, and publishing to the topics they publish to. */
  runtime: { id: 'phasegate-fn', displayName: 'phasegate functions (runtime)' },
  /** The identity Pub/Sub signs push requests as: may only invoke the functions. */
  push: { id: 'phasegate-push', displayName: 'phasegate Pub/Sub push' },
  /** Cloud Build's identity when it builds the functions. */
  build: { id: 'phasegate-build', displayName: 'phasegate function builds' },
} as const;

export const serviceAccountEmail = (
  target: Pick<DeployTarget, 'project'>,
  which: keyof typeof SERVICE_ACCOUNTS,
): string => `${SERVICE_ACCOUNTS[which].id}@${target.project}.iam.gserviceaccount.com`;
export const pubsubServiceAgent = (target: Pick<DeployTarget, 'projectNumber'>): string =>
  `service-${target.projectNumber}@gcp-sa-pubsub.iam.gserviceaccount.com`;

/** A gen2 function's stable URL: the push endpoint's base and the OIDC audience. */
export const functionUrl = (target: Pick<DeployTarget, 'project' | 'region'>, name: string): string =>
  `https://${target.region}-${target.project}.cloudfunctions.net/${name}`;
/** The push endpoint names the topic in its path, as on the emulators. */
export const pushEndpointUrl = (
  target: Pick<DeployTarget, 'project' | 'region'>,
  fn: string,
  topic: string,
): string => `${functionUrl(target, fn)}/projects/${target.project}/topics/${topic}`;
/** `gcloud auth print-identity-token` for a user carries gcloud's own client id as its audience. */
export const GCLOUD_CLIENT_ID = '32555940559.apps.googleusercontent.com';

/** Topics the functions publish to (and so the only ones their service account may publish to). */
export function publishedTopics(definition: LoadedDefinition): string[] {
  return [TOPICS.runRequests, TOPICS.processorCompletions, ...definition.phases.map((p) => phaseTopic(p.id))];
}

/** Dead-letter topics: the Pub/Sub service agent publishes there, from the subscriptions that name them. */
export function deadLetterTopics(plan: ResourcePlan): string[] {
  return [...new Set(plan.subscriptions.flatMap((s) => (s.deadLetter ? [s.deadLetter.topic] : [])))];
}

export function isHoldTopic(topic: string): boolean {
  return topic === CONTROL_DLQ_TOPIC;
}

/** Where a function's auth settings point: its URL (the token audience), the push account, the actors. */
export interface AuthSettings {
  functionUrl(name: string): string;
  pushServiceAccount: string;
  /** Emails that may act on the dashboard (users and service accounts). */
  actors: readonly string[];
}

/**
 * The auth environment of one function behind Cloud Run IAM: what deploy sets, and what the
 * local IAM front end (`npm start -- --iam`) sets with its own URLs.
 */
export function authEnv(fn: FunctionPlan, settings: AuthSettings): Record<string, string> {
  if (fn.trigger.kind === 'pubsub') {
    return {
      PHASEGATE_AUTH: 'iam',
      PHASEGATE_PUSH_AUDIENCE: settings.functionUrl(fn.name),
      PHASEGATE_PUSH_SERVICE_ACCOUNT: settings.pushServiceAccount,
    };
  }
  // `gcloud run services proxy` and `gcloud auth print-identity-token` carry gcloud's client id.
  const audiences = [settings.functionUrl(fn.name), GCLOUD_CLIENT_ID].join(',');
  return {
    DASHBOARD_AUTH: 'iam',
    DASHBOARD_AUDIENCES: audiences,
    DASHBOARD_ACTORS: settings.actors.join(','),
  };
}

/** Readers and actors may both call the dashboard (IAM); each member once. */
export const dashboardInvokers = (target: Pick<DeployTarget, 'dashboard'>): string[] => [
  ...new Set([...target.dashboard.readers, ...target.dashboard.actors]),
];

/** `user:a@b.c` -> `a@b.c` (actors are individual accounts: see `parseActor`). */
export const memberEmail = (member: string): string => member.replace(/^[a-zA-Z]+:/, '');

/** Environment of one deployed function: phasegate's production settings, the target's, then its authentication. */
export function functionEnv(target: DeployTarget, fn: FunctionPlan): Record<string, string> {
  const auth = authEnv(fn, {
    functionUrl: (name) => functionUrl(target, name),
    pushServiceAccount: serviceAccountEmail(target, 'push'),
    actors: target.dashboard.actors.map(memberEmail),
  });
  // Authentication last: nothing in the target's environment can turn it off.
  return { GOOGLE_CLOUD_PROJECT: target.project, LOG_LEVEL: 'info', ...target.env, ...auth };
}

export function resourcesFor(definition: LoadedDefinition): ResourcePlan {
  return planResources(definition);
}
