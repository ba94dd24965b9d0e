import type { RunDoc } from '../run-doc.ts';
import {
  currentRuns,
  DEPENDENCY_START_STALE_MS,
  type DependencyDeps,
  type DependencyDoc,
} from './dependency-doc.ts';
import type { PumpResult } from './pump-dependencies.ts';
import { settleDependency } from './settle-dependency.ts';

const MAX_STARTS = 3;
const TERMINAL = new Set(['SUCCESS', 'PARTIAL', 'FAILED', 'SUPERSEDED', 'CANCELLED']);

/**
 * Follows each open dependency by its partition's current run: done when it succeeded, failed when
 * the run it started ended otherwise, sent again when its request was lost. Says how many slots
 * are taken (`active`: runs at work, not waiting themselves) and which are queued to start.
 */
export async function reviewOpenDependencies(
  deps: DependencyDeps,
  open: readonly DependencyDoc[],
  waitingRuns: ReadonlySet<string | null>,
  result: PumpResult,
): Promise<{ active: number; queued: DependencyDoc[] }> {
  let active = 0;
  const queued: DependencyDoc[] = [];
  const runsOf = await currentRuns(
    deps.store,
    open.map((d) => d.partition),
  );
  for (const dep of open) {
    const run = runsOf.get(dep.partition);
    if (run?.status === 'SUCCESS') {
      const to = { status: 'done', runId: run.runId, outcome: run.status, reason: null } as const;
      if (await settleDependency(deps, dep.partition, dep, to)) result.done.push(dep.partition);
      continue;
    }
    if (dep.status === 'failed') continue;
    if (dep.status === 'queued') {
      // An earlier run of it that did not succeed is why it is needed: it runs again.
      queued.push(dep);
      continue;
    }
    if (run && isItsRun(dep, run) && TERMINAL.has(run.status)) {
      const reason = `run ${run.runId} of ${dep.partition} ended ${run.status}: ${run.lastError ?? 'see its queue entries'}`;
      const to = { status: 'failed', runId: run.runId, outcome: run.status, reason } as const;
      if (await settleDependency(deps, dep.partition, dep, to)) result.failed.push(dep.partition);
      continue;
    }
    if (run?.status === 'RUNNING') {
      if (!waitingRuns.has(run.runId)) active += 1;
      continue;
    }
    const stale =
      dep.startedAt && deps.clock.now().getTime() - Date.parse(dep.startedAt) > DEPENDENCY_START_STALE_MS;
    if (!stale) {
      active += 1;
      continue;
    }
    // Started, but no run of it is under way: the request was lost or refused.
    const next =
      dep.starts >= MAX_STARTS
        ? {
            status: 'failed' as const,
            reason: `no run of ${dep.partition} started after ${dep.starts} run requests`,
          }
        : { status: 'queued' as const, reason: null };
    if (await settleDependency(deps, dep.partition, dep, { ...next, runId: null, outcome: null })) {
      if (next.status === 'failed') result.failed.push(dep.partition);
      else queued.push({ ...dep, status: 'queued' });
    }
  }
  return { active, queued };
}

/** The run it started, or one that began after it (its request refused for a run under way). */
const isItsRun = (dep: DependencyDoc, run: RunDoc): boolean =>
  run.requestMessageId === dep.messageId || (dep.startedAt !== null && run.createdAt >= dep.startedAt);
