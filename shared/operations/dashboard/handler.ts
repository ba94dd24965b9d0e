import type { LoadedDefinition } from '../../definition/load.ts';
import type { Clock } from '../../ports/clock.ts';
import type { Logger } from '../../ports/logger.ts';
import type { Publisher } from '../../ports/publisher.ts';
import type { DocumentStore } from '../../ports/store.ts';
import { discardEntry, QueueActionError, resolveEntry, retryNow } from '../../recovery/queue-actions.ts';
import { rightsOf, type DashboardAuth, type Right } from './auth.ts';
import { DASHBOARD_PAGE } from './page.ts';
import { dashboardState, runTimeline } from './state.ts';

export interface DashboardRequest {
  method: string;
  path: string;
  query: Record<string, string | undefined>;
  headers: Record<string, string | undefined>;
  body: unknown;
}

export interface DashboardResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface DashboardDeps {
  definition: LoadedDefinition;
  store: DocumentStore;
  publisher: Publisher;
  clock: Clock;
  logger: Logger;
  auth: DashboardAuth;
  /** Verifies a Google ID token (google mode): the caller's email, or why not. */
  verifyIdToken?: (authorization: string | undefined) => Promise<{ ok: true; email: string } | { ok: false; status: number; reason: string }>;
}

const json = (status: number, value: unknown, headers: Record<string, string> = {}): DashboardResponse => ({ status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }, body: JSON.stringify(value) });

function tokenOf(req: DashboardRequest): string | undefined {
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  const cookie = /(?:^|;\s*)phasegate_token=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  return bearer ?? req.query.token ?? (cookie ? decodeURIComponent(cookie) : undefined);
}

/** The dashboard: one page that polls `/api/state`, and the queue actions. Framework-free. */
export function createDashboard(deps: DashboardDeps) {
  return async function handle(req: DashboardRequest): Promise<DashboardResponse> {
    let token = tokenOf(req);
    if (deps.auth.mode === 'google') {
      if (!deps.verifyIdToken) throw new Error('dashboard google auth needs an ID token verifier');
      const verdict = await deps.verifyIdToken(req.headers.authorization);
      if (!verdict.ok) return json(verdict.status === 403 ? 403 : 401, { error: verdict.status === 403 ? 'forbidden' : 'unauthorized', message: verdict.reason }, { 'www-authenticate': 'Bearer' });
      token = verdict.email;
    }
    const rights = rightsOf(deps.auth, token);
    const need = (right: Right): DashboardResponse | null => {
      if (rights.includes(right)) return null;
      if (deps.auth.mode === 'google') return json(403, { error: 'forbidden', message: `${token ?? 'this caller'} may ${rights.length ? rights.join(' and ') : 'not use the dashboard'}${rights.length ? `, not ${right}` : ''}` });
      return rights.length === 0 ? json(401, { error: 'unauthorized', message: 'a valid dashboard token is required' }, { 'www-authenticate': 'Bearer' }) : json(403, { error: 'forbidden', message: `this token may ${rights.join(' and ')}, not ${right}` });
    };
    const denied = need(req.method === 'GET' ? 'read' : 'act');
    if (denied) return denied;
    const setCookie: Record<string, string> = deps.auth.mode === 'token' && req.query.token && token ? { 'set-cookie': `phasegate_token=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/` } : {};

    if (req.method === 'GET' && (req.path === '/' || req.path === '')) {
      return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...setCookie }, body: DASHBOARD_PAGE.replace('__CAN_ACT__', JSON.stringify(rights.includes('act'))) };
    }
    if (req.method === 'GET' && req.path === '/api/state') {
      return json(200, await dashboardState(deps.store, deps.definition, { date: req.query.date || undefined, now: deps.clock.now() }));
    }
    const run = /^\/api\/runs\/([^/]+)$/.exec(req.path);
    if (req.method === 'GET' && run) return json(200, await runTimeline(deps.store, decodeURIComponent(run[1]!)));
    const action = /^\/api\/queue\/([^/]+)\/(retry|resolve|discard)$/.exec(req.path);
    if (req.method === 'POST' && action) {
      const entryId = decodeURIComponent(action[1]!);
      const note = typeof req.body === 'object' && req.body !== null && typeof (req.body as { note?: unknown }).note === 'string' ? (req.body as { note: string }).note.trim() : '';
      if (!note) return json(400, { error: 'bad_request', message: 'a note saying why is required' });
      const actionDeps = { definition: deps.definition, store: deps.store, publisher: deps.publisher, clock: deps.clock };
      try {
        const result = action[2] === 'retry' ? await retryNow(actionDeps, entryId, note) : action[2] === 'resolve' ? await resolveEntry(actionDeps, entryId, note) : await discardEntry(actionDeps, entryId, note);
        deps.logger.info({ entryId, action: action[2], note }, 'queue action from the dashboard');
        return json(200, { entry: result });
      } catch (error) {
        if (error instanceof QueueActionError) return json(409, { error: 'conflict', message: error.message });
        throw error;
      }
    }
    return json(404, { error: 'not_found', message: `${req.method} ${req.path}` });
  };
}
