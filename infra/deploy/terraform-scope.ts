import {
  pubsubServiceAgent,
  REQUIRED_APIS,
  SERVICE_ACCOUNTS,
  serviceAccountEmail,
  type DeployTarget,
} from './target.ts';

/** The body of one Terraform resource, as JSON. */
export type Block = Record<string, unknown>;

/** Terraform names: letters, digits, `_`. */
export const tfName = (name: string): string => name.replace(/[^a-zA-Z0-9_]/g, '_');
export const ref = (type: string, name: string, attr = 'id'): string => `\${${type}.${tfName(name)}.${attr}}`;
export const saRef = (key: keyof typeof SERVICE_ACCOUNTS): string => `google_service_account.${key}`;
export const apiRef = (name: (typeof REQUIRED_APIS)[number]): string =>
  `google_project_service.${tfName(name)}`;

/** What each part of the Terraform plan adds its resources with, and the names they share. */
export interface TerraformScope {
  /** The target, its project number read from the `google_project` data source. */
  target: DeployTarget;
  project: string;
  add: (type: string, name: string, body: Block) => void;
  /** Every required API: what a resource that needs them on depends on. */
  apis: string[];
  runtimeSa: string;
  pushSa: string;
  /** The Pub/Sub service agent as an IAM member, and what a grant to it waits for (its creation). */
  agent: string;
  agentReady: string[];
}

/** A scope whose resources, by type then by name, are the `resource` section of the document. */
export function terraformScope(target: Omit<DeployTarget, 'projectNumber'>): {
  scope: TerraformScope;
  resources: Record<string, Record<string, Block>>;
} {
  const t: DeployTarget = { ...target, projectNumber: '${data.google_project.this.number}' };
  const resources: Record<string, Record<string, Block>> = {};
  const scope: TerraformScope = {
    target: t,
    project: target.project,
    add: (type, name, body) => {
      (resources[type] ??= {})[tfName(name)] = body;
    },
    apis: REQUIRED_APIS.map(apiRef),
    runtimeSa: serviceAccountEmail(t, 'runtime'),
    pushSa: serviceAccountEmail(t, 'push'),
    agent: `serviceAccount:${pubsubServiceAgent(t)}`,
    agentReady: ['google_project_service_identity.pubsub_agent'],
  };
  return { scope, resources };
}
