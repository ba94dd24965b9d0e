import { truncate } from '../errors/describe.ts';

export const RUN_STATUSES = [
  'NOT_STARTED',
  'RUNNING',
  'SUCCESS',
  'PARTIAL',
  'FAILED',
  'SUPERSEDED',
  'CANCELLED',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const PHASE_STATUSES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'GATE_FAILED'] as const;
export type PhaseStatus = (typeof PHASE_STATUSES)[number];

export const MAX_STATUS_HISTORY = 50;
export const MAX_LAST_ERROR_CHARS = 200;

// Type aliases, not interfaces: a run's parsed parts (loose schemas) keep fields a newer writer added.
export type PhaseState = {
  status: PhaseStatus;
  /** Processors this run expects in the phase (all, or the subset a recovery re-runs). */
  expected: string[];
  done: number;
};

/** A processor of this run that is settled in the failed-processor queue. */
export type ProcessorFailureState = {
  phase: string;
  status: 'waiting' | 'failed_permanent';
  errorType: string;
  message: string;
  at: string;
};

export interface RunState {
  phaseOrder: string[];
  phases: Record<string, PhaseState>;
  failures: Record<string, ProcessorFailureState>;
  /** Gate shortfalls by phase. */
  gateFailures: Record<string, string>;
  /** A newer run of the partition took over: this one is history (see generation.ts). */
  supersededBy?: string | null;
  /** An operator cancelled it (operations/cancel-run.ts): no further phase is triggered. */
  cancelled?: { at: string; by: string; note: string } | null;
}

/**
 * The one rule for a run's status. FAILED: the root (first) phase's data did not land.
 * PARTIAL: the root landed, a later processor failed for good or a later gate failed.
 * SUCCESS: the last phase passed its gate. A processor waiting for its source is not a
 * failure: the run stays RUNNING until the deadline turns it failed_permanent. SUPERSEDED: a newer
 * run of the partition took over, whatever this one had reached. CANCELLED: an operator stopped it
 * (what its running processors recorded stays).
 */
export function computeRunStatus(run: RunState): RunStatus {
  // A cancelled run stays CANCELLED when a later run of its partition takes the lock.
  if (run.cancelled) return 'CANCELLED';
  if (run.supersededBy) return 'SUPERSEDED';
  const root = run.phaseOrder[0];
  const last = run.phaseOrder.at(-1);
  if (root === undefined || last === undefined) return 'NOT_STARTED';
  const failedPhases = new Set([
    ...Object.values(run.failures)
      .filter((f) => f.status === 'failed_permanent')
      .map((f) => f.phase),
    ...Object.keys(run.gateFailures),
  ]);
  if (failedPhases.has(root)) return 'FAILED';
  if (failedPhases.size > 0) return 'PARTIAL';
  if (run.phases[last]?.status === 'SUCCEEDED') return 'SUCCESS';
  if (Object.values(run.phases).every((p) => p.status === 'PENDING')) return 'NOT_STARTED';
  return 'RUNNING';
}

/** The first failing processor (in phase order) and its reason, capped at 200 characters. */
export function lastErrorOf(run: RunState): string | null {
  for (const phase of run.phaseOrder) {
    if (run.gateFailures[phase])
      return truncate(`gate of phase ${phase} failed: ${run.gateFailures[phase]}`, MAX_LAST_ERROR_CHARS);
    const failure = Object.entries(run.failures).find(
      ([, f]) => f.phase === phase && f.status === 'failed_permanent',
    );
    if (failure)
      return truncate(`${failure[0]} (${failure[1].errorType}): ${failure[1].message}`, MAX_LAST_ERROR_CHARS);
  }
  return null;
}

export type StatusChange = {
  status: RunStatus;
  at: string;
  reason: string;
};

/** Appends a change when the status changed; keeps the newest 50. */
export function appendHistory(history: readonly StatusChange[], change: StatusChange): StatusChange[] {
  const last = history.at(-1);
  if (last?.status === change.status) return [...history];
  return [...history, change].slice(-MAX_STATUS_HISTORY);
}
