import { CancelError, cancelRun } from '../cancel-run.ts';
import { pausePipeline, resumePipeline } from '../pause.ts';
import { crossSiteRefusal } from './cross-site.ts';
import type { DashboardDeps } from './handler.ts';
import { json, type DashboardRequest, type DashboardResponse } from './http.ts';
import { noteOf } from './queue-action.ts';

export type ControlAction = { kind: 'pause' } | { kind: 'resume' } | { kind: 'cancel'; runId: string };

/** Who acted, as the events record it: the caller's email (iam), else what admitted it. */
function actorOf(deps: Pick<DashboardDeps, 'auth'>, caller: string | undefined): string {
  if (deps.auth.mode === 'iam' && caller) return `dashboard:${caller}`;
  return deps.auth.mode === 'token' ? 'dashboard:act token' : 'dashboard';
}

/**
 * `POST /api/control/pause`, `/api/control/resume` and `/api/runs/<id>/cancel`: the operator
 * controls of `phasegate pause`, `resume` and `cancel`, from the page, with a note saying why
 * (kept in the event log with who acted). Acting rights and a same-origin JSON POST, as the queue
 * actions; a run that does not exist is a 404.
 */
export async function handleControlAction(
  deps: Pick<DashboardDeps, 'store' | 'publisher' | 'clock' | 'logger' | 'auth'>,
  req: DashboardRequest,
  caller: string | undefined,
  action: ControlAction,
): Promise<DashboardResponse> {
  const refused = crossSiteRefusal(req, deps.auth);
  if (refused) return refused;
  const note = noteOf(req.body);
  if (!note) return json(400, { error: 'bad_request', message: 'a note saying why is required' });
  const actor = { by: actorOf(deps, caller), note };
  const control = { store: deps.store, publisher: deps.publisher, clock: deps.clock };
  deps.logger.info({ action: action.kind, note, by: actor.by }, 'operator control from the dashboard');
  switch (action.kind) {
    case 'pause':
      return json(200, { paused: await pausePipeline(control, actor) });
    case 'resume':
      return json(200, await resumePipeline(control, actor));
    case 'cancel':
      try {
        return json(200, await cancelRun(control, action.runId, actor));
      } catch (error) {
        if (error instanceof CancelError) return json(404, { error: 'not_found', message: error.message });
        throw error;
      }
  }
}
