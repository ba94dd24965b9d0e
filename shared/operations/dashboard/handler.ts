import type { LoadedDefinition } from '../../definition/load.ts';
import type { Clock } from '../../ports/clock.ts';
import type { Logger } from '../../ports/logger.ts';
import type { Publisher } from '../../ports/publisher.ts';
import type { DocumentStore } from '../../ports/store.ts';
import { discardEntry, QueueActionError, resolveEntry, retryNow } from '../../recovery/queue-actions.ts';
import { rightsOf, type DashboardAuth, type Right } from './auth.ts';
import { DASHBOARD_PAGE } from './page.ts';
import type { HeldMessages, PeekHeld } from '../../ports/held-messages.ts';
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
  /** Verifies the caller's Google ID token (iam mode): the caller's email, or why not. */
  verifyIdToken?: (
    headers: Record<string, string | undefined>,
  ) => Promise<{ ok: true; email: string } | { ok: false; status: number; reason: string }>;
  /** Peeks control-dlq: what it holds is shown above the runs. */
  controlDlq?: PeekHeld;
}

const json = (status: number, value: unknown, headers: Record<string, string> = {}): DashboardResponse => ({
  status,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  body: JSON.stringify(value),
});

const COOKIE = 'phasegate_token';

/** Token mode: a bearer token or the cookie. A `?token=` is only taken by the page, once (see `tokenLanding`). */
function tokenOf(req: DashboardRequest): string | undefined {
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  const cookie = new RegExp(`(?:^|;\\s*)${COOKIE}=([^;]+)`).exec(req.headers.cookie ?? '')?.[1];
  if (bearer) return bearer;
  if (!cookie) return undefined;
  try {
    return decodeURIComponent(cookie);
  } catch {
    return undefined;
  }
}

const hostName = (host: string | undefined) => (host ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
const isLocalHost = (host: string | undefined) => ['localhost', '127.0.0.1', '::1'].includes(hostName(host));

/**
 * A link with `?token=` (what an operator is sent) sets the cookie and redirects to the same
 * page without it, so the token stays out of the history, later requests and their logs.
 */
function tokenLanding(req: DashboardRequest, token: string): DashboardResponse {
  const rest = new URLSearchParams(
    Object.entries(req.query).filter((e): e is [string, string] => e[0] !== 'token' && e[1] !== undefined),
  );
  const secure = isLocalHost(req.headers.host) ? '' : '; Secure';
  return {
    status: 303,
    // A reference of only a query keeps whatever path the dashboard is served under.
    headers: {
      location: `?${rest.toString()}`,
      'cache-control': 'no-store',
      'set-cookie': `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/${secure}`,
    },
    body: '',
  };
}

/** A path segment's value, or undefined when its %-escapes are malformed. */
function decodedSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
const badPath = (req: DashboardRequest) =>
  json(400, { error: 'bad_request', message: `malformed %-escape in ${req.path}` });

const hostOf = (url: string): string | undefined => {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
};

/**
 * Where the page itself may be served from, as an `Origin` host: this machine (`gcloud run
 * services proxy`, the local stack), and the dashboard's own address (its audiences behind IAM;
 * the request's Host otherwise). A page elsewhere, also one whose name was rebound to
 * 127.0.0.1 to reach the proxy, has another origin.
 */
function isOwnOrigin(origin: string, req: DashboardRequest, auth: DashboardAuth): boolean {
  const host = hostOf(origin);
  if (!host) return false;
  if (isLocalHost(host)) return true;
  const own = auth.mode === 'iam' ? auth.audiences.map(hostOf) : [req.headers.host];
  return own.includes(host);
}

/**
 * Acting changes the queue: only the page itself may ask. A JSON body (a cross-site form cannot
 * send one without a CORS preflight, which is never granted); a browser's `Sec-Fetch-Site` of
 * same-origin; and a browser's `Origin` (sent with every POST) one of the page's own.
 * Neither header: not a browser (curl with a token).
 */
function crossSiteRefusal(req: DashboardRequest, auth: DashboardAuth): DashboardResponse | null {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json')
    return json(415, {
      error: 'unsupported_media_type',
      message: `actions take a JSON body (content-type: application/json), not ${type || 'no content type'}`,
    });
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin')
    return json(403, { error: 'forbidden', message: `cross-site request refused (Sec-Fetch-Site: ${site})` });
  const origin = req.headers.origin;
  if (origin === undefined)
    return site === undefined
      ? null
      : json(403, { error: 'forbidden', message: 'a browser request without Origin is refused' });
  return isOwnOrigin(origin, req, auth)
    ? null
    : json(403, { error: 'forbidden', message: `cross-site request refused (Origin: ${origin})` });
}

/** The dashboard: one page that polls `/api/state`, and the queue actions. Framework-free. */
/** The page polls every 1.5 s: control-dlq is peeked at most this often, whoever has it open. */
export const CONTROL_DLQ_PEEK_EVERY_MS = 30_000;

export function createDashboard(deps: DashboardDeps) {
  let lastPeek: { at: number; result: Promise<HeldMessages> } | null = null;
  const controlDlq: PeekHeld | undefined = deps.controlDlq
    ? () => {
        const now = deps.clock.now().getTime();
        if (!lastPeek || now - lastPeek.at >= CONTROL_DLQ_PEEK_EVERY_MS)
          lastPeek = { at: now, result: deps.controlDlq!() };
        const peek = lastPeek;
        // A failed peek is not kept: the next poll tries again (a newer one is left alone).
        peek.result.catch(() => {
          if (lastPeek === peek) lastPeek = null;
        });
        return peek.result;
      }
    : undefined;
  return async function handle(req: DashboardRequest): Promise<DashboardResponse> {
    if (deps.auth.mode === 'token' && req.method === 'GET' && req.query.token) {
      if (rightsOf(deps.auth, req.query.token).length === 0)
        return json(401, { error: 'unauthorized', message: 'this dashboard token is not valid' });
      return tokenLanding(req, req.query.token);
    }
    let caller = deps.auth.mode === 'token' ? tokenOf(req) : undefined;
    if (deps.auth.mode === 'iam') {
      if (!deps.verifyIdToken) throw new Error('dashboard iam auth needs an ID token verifier');
      const verdict = await deps.verifyIdToken(req.headers);
      if (!verdict.ok) {
        const forbidden = verdict.status === 403;
        return json(
          forbidden ? 403 : 401,
          { error: forbidden ? 'forbidden' : 'unauthorized', message: verdict.reason },
          { 'www-authenticate': 'Bearer' },
        );
      }
      caller = verdict.email;
    }
    const rights = rightsOf(deps.auth, caller);
    const need = (right: Right): DashboardResponse | null => {
      if (rights.includes(right)) return null;
      if (deps.auth.mode === 'iam')
        return json(403, {
          error: 'forbidden',
          message: `${caller ?? 'this caller'} may read, not ${right} (actors: DASHBOARD_ACTORS)`,
        });
      if (rights.length === 0)
        return json(
          401,
          { error: 'unauthorized', message: 'a valid dashboard token is required' },
          { 'www-authenticate': 'Bearer' },
        );
      return json(403, {
        error: 'forbidden',
        message: `this token may ${rights.join(' and ')}, not ${right}`,
      });
    };
    const denied = need(req.method === 'GET' ? 'read' : 'act');
    if (denied) return denied;

    if (req.method === 'GET' && (req.path === '/' || req.path === '')) {
      return {
        status: 200,
        headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
        body: DASHBOARD_PAGE.replace('__CAN_ACT__', JSON.stringify(rights.includes('act'))),
      };
    }
    if (req.method === 'GET' && req.path === '/api/state') {
      return json(
        200,
        await dashboardState(deps.store, deps.definition, {
          partition: req.query.partition || undefined,
          now: deps.clock.now(),
          controlDlq: controlDlq,
        }),
      );
    }
    const run = /^\/api\/runs\/([^/]+)$/.exec(req.path);
    if (req.method === 'GET' && run) {
      const runId = decodedSegment(run[1]!);
      return runId === undefined ? badPath(req) : json(200, await runTimeline(deps.store, runId));
    }
    const action = /^\/api\/queue\/([^/]+)\/(retry|resolve|discard)$/.exec(req.path);
    if (req.method === 'POST' && action) {
      const refused = crossSiteRefusal(req, deps.auth);
      if (refused) return refused;
      const entryId = decodedSegment(action[1]!);
      if (entryId === undefined) return badPath(req);
      const note =
        typeof req.body === 'object' &&
        req.body !== null &&
        typeof (req.body as { note?: unknown }).note === 'string'
          ? (req.body as { note: string }).note.trim()
          : '';
      if (!note) return json(400, { error: 'bad_request', message: 'a note saying why is required' });
      // Who acted goes with the note into the entry and its event (a token names no one).
      const signed = deps.auth.mode === 'iam' && caller ? `${note} (by ${caller})` : note;
      const actionDeps = {
        definition: deps.definition,
        store: deps.store,
        publisher: deps.publisher,
        clock: deps.clock,
      };
      try {
        const result =
          action[2] === 'retry'
            ? await retryNow(actionDeps, entryId, signed)
            : action[2] === 'resolve'
              ? await resolveEntry(actionDeps, entryId, signed)
              : await discardEntry(actionDeps, entryId, signed);
        deps.logger.info(
          { entryId, action: action[2], note, by: caller ?? null },
          'queue action from the dashboard',
        );
        return json(200, { entry: result });
      } catch (error) {
        if (error instanceof QueueActionError)
          return json(409, { error: 'conflict', message: error.message });
        throw error;
      }
    }
    return json(404, { error: 'not_found', message: `${req.method} ${req.path}` });
  };
}
