import type { LoadedDefinition } from '../../definition/load.ts';
import type { Clock } from '../../ports/clock.ts';
import type { Logger } from '../../ports/logger.ts';
import type { Publisher } from '../../ports/publisher.ts';
import type { DocumentStore } from '../../ports/store.ts';
import type { HeldMessages, PeekHeld } from '../../ports/held-messages.ts';
import { rightsOf, type DashboardAuth } from './auth.ts';
import { identifyCaller, rightRefusal, type VerifyIdToken } from './caller.ts';
import { badPath, decodedSegment, json, type DashboardRequest, type DashboardResponse } from './http.ts';
import { DASHBOARD_PAGE } from './page.ts';
import { handleControlAction } from './control-action.ts';
import { handleQueueAction } from './queue-action.ts';
import { handleBulkAction } from './queue-bulk-action.ts';
import { controlDlqState, dashboardState } from './state.ts';
import { gridView, healthView, runView } from './views.ts';
import { dashboardVersion } from './state-version.ts';
import { tokenLanding } from './token-cookie.ts';

export interface DashboardDeps {
  definition: LoadedDefinition;
  store: DocumentStore;
  publisher: Publisher;
  clock: Clock;
  logger: Logger;
  auth: DashboardAuth;
  /** Verifies the caller's Google ID token (iam mode): the caller's email, or why not. */
  verifyIdToken?: VerifyIdToken;
  /** Peeks control-dlq: what it holds is shown above the runs. */
  controlDlq?: PeekHeld;
}

/** The page polls every 1.5 s: control-dlq is peeked at most this often, whoever has it open. */
export const CONTROL_DLQ_PEEK_EVERY_MS = 30_000;

/** One peek shared by every poll for CONTROL_DLQ_PEEK_EVERY_MS. */
function throttledPeek(peek: PeekHeld, clock: Clock): PeekHeld {
  let lastPeek: { at: number; result: Promise<HeldMessages> } | null = null;
  return () => {
    const now = clock.now().getTime();
    if (!lastPeek || now - lastPeek.at >= CONTROL_DLQ_PEEK_EVERY_MS) lastPeek = { at: now, result: peek() };
    const current = lastPeek;
    // A failed peek is not kept: the next poll tries again (a newer one is left alone).
    current.result.catch(() => {
      if (lastPeek === current) lastPeek = null;
    });
    return current.result;
  };
}

/** The dashboard: one page that polls `/api/state`, and the queue actions. Framework-free. */
export function createDashboard(deps: DashboardDeps) {
  const controlDlq = deps.controlDlq ? throttledPeek(deps.controlDlq, deps.clock) : undefined;
  return async function handle(req: DashboardRequest): Promise<DashboardResponse> {
    if (deps.auth.mode === 'token' && req.method === 'GET' && req.query.token) {
      if (rightsOf(deps.auth, req.query.token).length === 0)
        return json(401, { error: 'unauthorized', message: 'this dashboard token is not valid' });
      return tokenLanding(req, req.query.token);
    }
    const identified = await identifyCaller(deps.auth, deps.verifyIdToken, req);
    if (!identified.ok) return identified.response;
    const denied = rightRefusal(deps.auth, identified, req.method === 'GET' ? 'read' : 'act');
    if (denied) return denied;

    if (req.method === 'GET' && (req.path === '/' || req.path === '')) {
      return {
        status: 200,
        headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
        body: DASHBOARD_PAGE.replace('__CAN_ACT__', JSON.stringify(identified.rights.includes('act'))),
      };
    }
    if (req.method === 'GET' && req.path === '/api/state') {
      // The version is read first: a change while the state is read makes the next poll read it again.
      const version = await dashboardVersion(deps.store);
      const now = deps.clock.now();
      if (req.query.since && req.query.since === version)
        return json(200, {
          unchanged: true,
          version,
          generatedAt: now.toISOString(),
          controlDlq: await controlDlqState(controlDlq),
        });
      const state = await dashboardState(deps.store, deps.definition, {
        partition: req.query.partition || undefined,
        now,
        controlDlq,
      });
      return json(200, { ...state, version });
    }
    const views = { definition: deps.definition, store: deps.store, now: deps.clock.now(), controlDlq };
    if (req.method === 'GET' && req.path === '/api/grid') return gridView(views, req);
    if (req.method === 'GET' && req.path === '/api/health') return healthView(views, req);
    const run = /^\/api\/runs\/([^/]+)$/.exec(req.path);
    if (req.method === 'GET' && run) {
      const runId = decodedSegment(run[1]!);
      return runId === undefined ? badPath(req) : runView(views, runId);
    }
    const control = /^\/api\/control\/(pause|resume)$/.exec(req.path);
    if (req.method === 'POST' && control)
      return handleControlAction(deps, req, identified.caller, { kind: control[1] as 'pause' | 'resume' });
    const cancel = /^\/api\/runs\/([^/]+)\/cancel$/.exec(req.path);
    if (req.method === 'POST' && cancel) {
      const runId = decodedSegment(cancel[1]!);
      if (runId === undefined) return badPath(req);
      return handleControlAction(deps, req, identified.caller, { kind: 'cancel', runId });
    }
    if (req.method === 'POST' && req.path === '/api/queue/bulk')
      return handleBulkAction(deps, req, identified.caller);
    const action = /^\/api\/queue\/([^/]+)\/(retry|resolve|discard)$/.exec(req.path);
    if (req.method === 'POST' && action)
      return handleQueueAction(deps, req, identified.caller, {
        entrySegment: action[1]!,
        action: action[2]!,
      });
    return json(404, { error: 'not_found', message: `${req.method} ${req.path}` });
  };
}
