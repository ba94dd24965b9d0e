import type { LoadedDefinition } from '../definition/load.ts';
import type { DocData } from '../ports/store.ts';
import {
  appendHistory,
  computeRunStatus,
  lastErrorOf,
  type PhaseState,
  type ProcessorFailureState,
  type RunState,
  type RunStatus,
  type StatusChange,
} from './run-status.ts';

/** `runs/{runId}` as stored. */
export interface RunDoc extends RunState {
  runId: string;
  /** The Pub/Sub message id of the RunRequest: how a publisher finds the run it started. */
  requestMessageId: string;
  partition: string;
  triggerSource: string;
  requestedBy: string | null;
  traceparent: string;
  createdAt: string;
  updatedAt: string;
  status: RunStatus;
  statusHistory: StatusChange[];
  /** First failing processor and reason, at most 200 characters. */
  lastError: string | null;
  /** What a person should know about a run that is not an error (a phase with nothing to do for the partition). */
  notes?: string[];
}

export const phaseDecisionId = (runId: string, phaseId: string): string => `${runId}_${phaseId}`;

/** `run_phases/{runId}_{phaseId}`. */
export interface RunPhaseDoc {
  runId: string;
  phase: string;
  partition: string;
  expected: string[];
  status: 'running' | 'gate_passed' | 'gate_failed';
  startedAt: string;
  decidedAt: string | null;
  gate: DocData | null;
}

export function newRunDoc(input: {
  definition: LoadedDefinition;
  requestMessageId: string;
  runId: string;
  partition: string;
  triggerSource: string;
  requestedBy: string | null;
  traceparent: string;
  startPhase: string;
  processors: string[];
  now: string;
}): RunDoc {
  const startIndex = input.definition.phases.findIndex((p) => p.id === input.startPhase);
  const phaseOrder = input.definition.phases.slice(startIndex).map((p) => p.id);
  const phases: Record<string, PhaseState> = Object.fromEntries(
    input.definition.phases.slice(startIndex).map((p) => [
      p.id,
      {
        status: p.id === input.startPhase ? 'RUNNING' : 'PENDING',
        expected: p.id === input.startPhase ? input.processors : p.processors.map((s) => s.name),
        done: 0,
      } satisfies PhaseState,
    ]),
  );
  return {
    runId: input.runId,
    requestMessageId: input.requestMessageId,
    partition: input.partition,
    triggerSource: input.triggerSource,
    requestedBy: input.requestedBy,
    traceparent: input.traceparent,
    createdAt: input.now,
    updatedAt: input.now,
    phaseOrder,
    phases,
    failures: {},
    gateFailures: {},
    status: 'RUNNING',
    statusHistory: [{ status: 'RUNNING', at: input.now, reason: `run started at phase ${input.startPhase}` }],
    lastError: null,
  };
}

/** Applies a change to a run and recomputes its status, history and lastError. */
export function updateRun(run: RunDoc, now: string, reason: string, change: (draft: RunDoc) => void): RunDoc {
  const draft = structuredClone(run);
  change(draft);
  const status = computeRunStatus(draft);
  return {
    ...draft,
    status,
    statusHistory: appendHistory(draft.statusHistory, { status, at: now, reason }),
    lastError: lastErrorOf(draft),
    updatedAt: now,
  };
}

export type { ProcessorFailureState };
