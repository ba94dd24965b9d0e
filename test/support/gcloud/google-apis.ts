import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the Google APIs a deploy calls, for the real gcloud CLI to talk to
 * (`CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>=<url>/<api>/`). It records every request and answers
 * as the API does, closely enough for gcloud to go on: long-running operations done at once,
 * IAM policies read and written, 404 for what does not exist.
 *
 * `world: 'empty'` is a fresh project: every create succeeds. `world: 'existing'` is a project
 * deployed before: every create answers 409 ALREADY_EXISTS (so the plan takes its update path)
 * and everything can be read.
 */
export const OVERRIDDEN_APIS = [
  'pubsub',
  'serviceusage',
  'firestore',
  'iam',
  'cloudresourcemanager',
  'cloudfunctions',
  'run',
  'cloudscheduler',
  'storage',
] as const;

export interface RecordedRequest {
  /** Which command of the plan sent it (set by the caller before each command). */
  step: number;
  api: string;
  method: string;
  /** The path after the API prefix, e.g. `/v1/projects/p/topics/t`. */
  path: string;
  query: URLSearchParams;
  body: unknown;
  /** What the stand-in answered (501: it does not know the call). */
  status: number;
}

export interface GoogleApis {
  url: string;
  /** `CLOUDSDK_API_ENDPOINT_OVERRIDES_*` for every API a deploy uses. */
  env: Record<string, string>;
  requests: RecordedRequest[];
  /** IAM policies as set, by resource path (e.g. `/v1/projects/p/locations/r/services/dashboard`). */
  policies: ReadonlyMap<string, Policy>;
  step: number;
  close(): Promise<void>;
}

const FUNCTION_OPERATION = {
  '@type': 'type.googleapis.com/google.cloud.functions.v2.OperationMetadata',
  stages: [],
};

export interface Policy {
  version?: number;
  etag?: string;
  bindings?: { role: string; members: string[] }[];
}

const error = (code: number, status: string, message: string) => ({
  code,
  body: { error: { code, message, status } },
});

export async function startGoogleApis(options: {
  world: 'empty' | 'existing';
  projectNumber: string;
}): Promise<GoogleApis> {
  const created = new Set<string>();
  const exists = (path: string) => options.world === 'existing' || created.has(path);
  const requests: RecordedRequest[] = [];
  let base = '';
  let operations = 0;
  const state = { step: -1 };

  const finished = new Map<string, unknown>();
  const policies = new Map<string, Policy>();
  /** A long-running operation, done at once; gcloud polls it by name and reads its response. */
  const done = (prefix: string, response: unknown = {}, metadata?: unknown) => {
    const op = {
      name: `${prefix}/operations/op-${++operations}`,
      done: true,
      response,
      ...(metadata ? { metadata } : {}),
    };
    finished.set(op.name, op);
    return { code: 200, body: op };
  };
  /**
   * A create: 409 ALREADY_EXISTS with the API's own message if it exists (as Google's APIs word
   * them in published error reports), else remember it and answer `body`.
   */
  const create = (path: string, body: () => unknown, message: string) => {
    if (exists(path)) return error(409, 'ALREADY_EXISTS', message);
    created.add(path);
    return { code: 200, body: body() };
  };

  function gen2Function(name: string) {
    const [, project, , region, , fn] = name.split('/');
    return {
      name,
      environment: 'GEN_2',
      state: 'ACTIVE',
      url: `https://${region}-${project}.cloudfunctions.net/${fn}`,
      serviceConfig: {
        service: `projects/${project}/locations/${region}/services/${fn}`,
        uri: `https://${fn}-abc123-ew.a.run.app`,
      },
      buildConfig: { runtime: 'nodejs20', entryPoint: fn },
    };
  }

  function answer(
    api: string,
    method: string,
    path: string,
    query: URLSearchParams,
    body: unknown,
  ): { code: number; body: unknown } {
    const owner = path.replace(/:(get|set)IamPolicy$/, '');
    if (path.endsWith(':getIamPolicy'))
      return { code: 200, body: policies.get(owner) ?? { version: 1, etag: 'BwYAAAAAAAA=', bindings: [] } };
    if (path.endsWith(':setIamPolicy')) {
      const policy = (body as { policy: Policy }).policy;
      policies.set(owner, policy);
      return { code: 200, body: policy };
    }
    const resource = path.replace(/^\/v\d+(beta\d*|alpha)?\//, '');
    if (method === 'GET' && /\/operations\/[^/]+$/.test(resource))
      return { code: 200, body: finished.get(resource) ?? { name: resource, done: true, response: {} } };

    switch (api) {
      case 'pubsub':
        if (method === 'PUT')
          return create(
            resource,
            () => ({ ...(body as object), name: resource }),
            `Resource already exists in the project (resource=${resource.split('/').pop()}).`,
          );
        if (method === 'PATCH')
          return { code: 200, body: (body as { subscription?: unknown }).subscription ?? {} };
        if (method === 'GET')
          return exists(resource)
            ? { code: 200, body: { name: resource } }
            : error(404, 'NOT_FOUND', `Resource not found (resource=${resource})`);
        break;
      case 'serviceusage':
        if (method === 'GET' && /\/services\/[^/:]+$/.test(resource))
          return { code: 200, body: { name: resource, state: 'ENABLED' } };
        if (resource.endsWith(':batchEnable')) return done(resource.split('/services')[0]!, { services: [] });
        if (resource.endsWith(':generateServiceIdentity')) {
          const service = resource.split('/services/')[1]!.split(':')[0]!;
          const agent = `service-${options.projectNumber}@gcp-sa-${service.split('.')[0]}.iam.gserviceaccount.com`;
          return done('services', {
            '@type': 'type.googleapis.com/google.api.serviceusage.v1beta1.ServiceIdentity',
            email: agent,
            uniqueId: '1234',
          });
        }
        break;
      case 'firestore':
        if (method === 'POST' && /^projects\/[^/]+\/databases$/.test(resource)) {
          const name = `${resource}/${query.get('databaseId') ?? '(default)'}`;
          return create(
            name,
            () => ({ name: `${name}/operations/db-${++operations}`, done: true, response: { name } }),
            'Database already exists. Please use another database_id',
          );
        }
        if (method === 'POST' && resource.endsWith('/indexes')) {
          const name = `${resource}/${JSON.stringify(body)}`;
          return create(
            name,
            () => ({
              name: `${resource.split('/collectionGroups')[0]}/operations/ix-${++operations}`,
              done: false,
              metadata: {},
            }),
            'index already exists',
          );
        }
        break;
      case 'iam':
        if (method === 'POST' && resource.endsWith('/serviceAccounts')) {
          const { accountId, serviceAccount } = body as {
            accountId: string;
            serviceAccount?: { displayName?: string };
          };
          const project = resource.split('/')[1]!;
          const email = `${accountId}@${project}.iam.gserviceaccount.com`;
          const message = `Service account ${accountId} already exists within project projects/${project}.`;
          return create(
            `${resource}/${email}`,
            () => ({
              name: `${resource}/${email}`,
              email,
              projectId: project,
              displayName: serviceAccount?.displayName,
            }),
            message,
          );
        }
        break;
      case 'cloudresourcemanager':
        if (method === 'GET' && /^projects\/[^/]+$/.test(resource))
          return {
            code: 200,
            body: {
              projectId: resource.split('/')[1],
              projectNumber: options.projectNumber,
              lifecycleState: 'ACTIVE',
            },
          };
        break;
      case 'cloudfunctions':
        if (method === 'GET' && resource.endsWith('/runtimes')) {
          return {
            code: 200,
            body: {
              runtimes: ['nodejs18', 'nodejs20', 'nodejs22'].map((name) => ({
                name,
                displayName: name,
                stage: 'GA',
                environment: 'GEN_2',
              })),
            },
          };
        }
        if (method === 'POST' && resource.endsWith('/functions:generateUploadUrl')) {
          return {
            code: 200,
            body: {
              uploadUrl: `${base}/upload/${++operations}`,
              storageSource: { bucket: 'gcf-v2-uploads', object: `source-${operations}.zip` },
            },
          };
        }
        if (method === 'GET' && /\/functions\/[^/]+$/.test(resource))
          return exists(resource)
            ? { code: 200, body: gen2Function(resource) }
            : error(404, 'NOT_FOUND', `Resource '${resource}' was not found`);
        if (method === 'POST' && resource.endsWith('/functions')) {
          const name = `${resource}/${query.get('functionId')}`;
          created.add(name);
          return done(resource.split('/functions')[0]!, gen2Function(name), FUNCTION_OPERATION);
        }
        if (method === 'PATCH')
          return done(resource.split('/functions')[0]!, gen2Function(resource), FUNCTION_OPERATION);
        break;
      case 'cloudscheduler':
        if (method === 'POST' && resource.endsWith('/jobs')) {
          const name = (body as { name: string }).name;
          return create(`${resource}/${name.split('/').pop()}`, () => body, `Job ${name} already exists.`);
        }
        if (method === 'PATCH') return { code: 200, body };
        break;
      default:
        break;
    }
    return error(
      501,
      'UNIMPLEMENTED',
      `the local Google API stand-in does not answer ${method} ${api} ${path}`,
    );
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://local');
      const [, api = '', ...rest] = url.pathname.split('/');
      const path = `/${rest.join('/')}`;
      const raw = Buffer.concat(chunks);
      if (api === 'upload') {
        requests.push({
          step: state.step,
          api,
          method: req.method ?? '',
          path,
          query: url.searchParams,
          body: { bytes: raw.length },
          status: 200,
        });
        res.writeHead(200).end();
        return;
      }
      let body: unknown;
      try {
        body = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch {
        body = raw.toString('utf8');
      }
      const reply = answer(api, req.method ?? '', decodeURIComponent(path), url.searchParams, body);
      requests.push({
        step: state.step,
        api,
        method: req.method ?? '',
        path: decodeURIComponent(path),
        query: url.searchParams,
        body,
        status: reply.code,
      });
      res.writeHead(reply.code, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const env = Object.fromEntries(
    OVERRIDDEN_APIS.map((api) => [`CLOUDSDK_API_ENDPOINT_OVERRIDES_${api.toUpperCase()}`, `${base}/${api}/`]),
  );
  return {
    url: base,
    env,
    requests,
    policies,
    get step() {
      return state.step;
    },
    set step(value: number) {
      state.step = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
