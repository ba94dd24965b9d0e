import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { firestore } from './api-firestore.ts';
import { cloudfunctions } from './api-functions.ts';
import { iam } from './api-iam.ts';
import { pubsub } from './api-pubsub.ts';
import { cloudresourcemanager } from './api-resource-manager.ts';
import { cloudscheduler } from './api-scheduler.ts';
import { serviceusage } from './api-serviceusage.ts';
import { createApiState, error, type ApiHandler, type Policy } from './api-state.ts';

export type { Policy } from './api-state.ts';

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

/** The APIs that answer more than IAM policies and operations, each in its own file. */
const APIS: Record<string, ApiHandler> = {
  pubsub,
  serviceusage,
  firestore,
  iam,
  cloudresourcemanager,
  cloudfunctions,
  cloudscheduler,
};

export async function startGoogleApis(options: {
  world: 'empty' | 'existing';
  projectNumber: string;
}): Promise<GoogleApis> {
  const apiState = createApiState(options);
  const requests: RecordedRequest[] = [];
  const state = { step: -1 };
  const policies = new Map<string, Policy>();

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
      return {
        code: 200,
        body: apiState.finished.get(resource) ?? { name: resource, done: true, response: {} },
      };
    return (
      APIS[api]?.(apiState, { method, resource, query, body }) ??
      error(501, 'UNIMPLEMENTED', `the local Google API stand-in does not answer ${method} ${api} ${path}`)
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
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  apiState.base = base;
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
