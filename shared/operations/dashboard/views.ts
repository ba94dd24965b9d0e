import type { LoadedDefinition } from '../../definition/load.ts';
import type { PeekHeld } from '../../ports/held-messages.ts';
import type { DocumentStore } from '../../ports/store.ts';
import { COLLECTIONS } from '../../runtime/collections.ts';
import { healthSummary } from '../health.ts';
import { GridRangeError, gridPartitions, partitionGrid } from './grid.ts';
import { json, type DashboardRequest, type DashboardResponse } from './http.ts';
import { controlDlqState, DASHBOARD_RUNS, runTimeline } from './state.ts';
import { runWaterfall } from './waterfall.ts';

interface ViewDeps {
  definition: LoadedDefinition;
  store: DocumentStore;
  now: Date;
  controlDlq?: PeekHeld;
}

/** The charts look back at most this many days (one point per day). */
export const MAX_HEALTH_DAYS = 90;

/**
 * `GET /api/grid?from=&to=`: the partitions of a range (in the pipeline's scheme) by phases; without
 * a range, the partitions of the newest runs. A range the scheme rejects is a 400 that says why.
 */
export async function gridView(deps: ViewDeps, req: DashboardRequest): Promise<DashboardResponse> {
  const { from, to } = req.query;
  if (Boolean(from) !== Boolean(to))
    return json(400, { error: 'bad_request', message: 'give both from and to, or neither' });
  try {
    const partitions =
      from && to ? gridPartitions(deps.definition, from, to) : await newestPartitions(deps.store);
    return json(200, await partitionGrid(deps.store, deps.definition, partitions));
  } catch (error) {
    if (error instanceof GridRangeError) return json(400, { error: 'bad_request', message: error.message });
    throw error;
  }
}

async function newestPartitions(store: DocumentStore): Promise<string[]> {
  const runs = await store.query(COLLECTIONS.runs, {
    orderBy: { field: 'createdAt', direction: 'desc' },
    limit: DASHBOARD_RUNS,
  });
  return [...new Set(runs.map((r) => String(r.data.partition)))];
}

/** `GET /api/runs/<id>`: the run, its events oldest first, and its waterfall. */
export async function runView(deps: ViewDeps, runId: string): Promise<DashboardResponse> {
  const { run, events } = await runTimeline(deps.store, runId);
  const phaseOrder = run?.phaseOrder ?? deps.definition.phases.map((p) => p.id);
  return json(200, { run, events, waterfall: runWaterfall(events, phaseOrder, deps.now) });
}

/** `GET /api/health?days=N`: `phasegate health --json`'s numbers (1 to MAX_HEALTH_DAYS days, 7 by default). */
export async function healthView(deps: ViewDeps, req: DashboardRequest): Promise<DashboardResponse> {
  const days = req.query.days === undefined ? 7 : Number(req.query.days);
  if (!Number.isInteger(days) || days < 1 || days > MAX_HEALTH_DAYS)
    return json(400, { error: 'bad_request', message: `days: a whole number from 1 to ${MAX_HEALTH_DAYS}` });
  const [health, controlDlq] = await Promise.all([
    healthSummary(deps.store, { now: deps.now, days }),
    controlDlqState(deps.controlDlq),
  ]);
  return json(200, { ...health, controlDlq });
}
