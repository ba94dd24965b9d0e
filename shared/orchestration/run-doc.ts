import type { LoadedDefinition } from '../definition/load.ts';
import type { DocData, StoredDoc } from '../ports/store.ts';
import { z } from 'zod';
import { COLLECTIONS } from '../runtime/collections.ts';
import { parseDocument, parseEach, parseOrPassOver, type DocumentReader } from '../store/parse-document.ts';
import {
  PHASE_STATUSES,
  RUN_STATUSES,
  appendHistory,
  computeRunStatus,
  lastErrorOf,
  type PhaseState,
  type ProcessorFailureState,
} from './run-status.ts';

const PhaseStateSchema = z.looseObject({
  status: z.enum(PHASE_STATUSES),
  /** Processors this run expects in the phase (all, or the subset a recovery re-runs). */
  expected: z.array(z.string()),
  done: z.number().int().nonnegative(),
});

const ProcessorFailureStateSchema = z.looseObject({
  phase: z.string(),
  status: z.enum(['waiting', 'failed_permanent']),
  errorType: z.string(),
  message: z.string(),
  at: z.string(),
});

/** `runs/{runId}`, as every reader parses it (RunState, run-status.ts, is what its status is computed from). */
export const RunDocSchema = z.looseObject({
  runId: z.string().min(1),
  /** The Pub/Sub message id of the RunRequest: how a publisher finds the run it started. */
  requestMessageId: z.string(),
  partition: z.string().min(1),
  triggerSource: z.string(),
  requestedBy: z.string().nullable(),
  traceparent: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  status: z.enum(RUN_STATUSES),
  statusHistory: z.array(z.looseObject({ status: z.enum(RUN_STATUSES), at: z.string(), reason: z.string() })),
  /** First failing processor and reason, at most 200 characters. */
  lastError: z.string().nullable(),
  /** What a person should know about a run that is not an error (a phase with nothing to do for the partition). */
  notes: z.array(z.string()).optional(),
  phaseOrder: z.array(z.string()),
  phases: z.record(z.string(), PhaseStateSchema),
  failures: z.record(z.string(), ProcessorFailureStateSchema),
  /** Gate shortfalls by phase. */
  gateFailures: z.record(z.string(), z.string()),
  /** A newer run of the partition took over: this one is history (see generation.ts). */
  supersededBy: z.string().nullable().optional(),
  /** An operator cancelled it: when, who, why (operations/cancel-run.ts). */
  cancelled: z.object({ at: z.string(), by: z.string(), note: z.string() }).nullable().optional(),
});
export type RunDoc = z.infer<typeof RunDocSchema>;

export const phaseDecisionId = (runId: string, phaseId: string): string => `${runId}_${phaseId}`;

/** `run_phases/{runId}_{phaseId}`: what a phase's gate waits for, and its one decision. */
export const RunPhaseDocSchema = z.looseObject({
  runId: z.string().min(1),
  phase: z.string().min(1),
  partition: z.string().min(1),
  expected: z.array(z.string()),
  status: z.enum(['running', 'gate_passed', 'gate_failed']),
  startedAt: z.string(),
  decidedAt: z.string().nullable(),
  /** The gate's result (gate.ts GateResult) once decided. */
  gate: z.record(z.string(), z.unknown()).nullable(),
  /** When the reconciler re-drove the phase's unfinished processors (once a phase). */
  stallRedrivenAt: z.string().optional(),
  /**
   * The fan-in: processor → when its completion was recorded (phase-completions.ts). A map on the
   * phase's own document, so a completion is counted once however often it is delivered.
   */
  completed: z.record(z.string(), z.string()).optional(),
});
export type RunPhaseDoc = z.infer<typeof RunPhaseDocSchema>;

export const parseRun = (id: string, data: DocData | undefined): RunDoc | undefined =>
  parseDocument(RunDocSchema, COLLECTIONS.runs, id, data);

export const parseRunPhase = (id: string, data: DocData | undefined): RunPhaseDoc | undefined =>
  parseDocument(RunPhaseDocSchema, COLLECTIONS.runPhases, id, data);

/** For automatic steps over many runs (a tick, a pump): a corrupt run is reported and passed over. */
export const readRunOrPassOver = async (reader: DocumentReader, runId: string): Promise<RunDoc | undefined> =>
  parseOrPassOver(RunDocSchema, COLLECTIONS.runs, runId, await reader.get(COLLECTIONS.runs, runId));

/** A run a batch read returned (getMany), parsed; a corrupt one is reported and passed over. */
export const parseRunOrPassOver = (runId: string, data: DocData | undefined): RunDoc | undefined =>
  parseOrPassOver(RunDocSchema, COLLECTIONS.runs, runId, data);

export const readRun = async (reader: DocumentReader, runId: string): Promise<RunDoc | undefined> =>
  parseRun(runId, await reader.get(COLLECTIONS.runs, runId));

/** Runs a query returned, each parsed. */
export const parseRuns = (docs: readonly StoredDoc[]): RunDoc[] =>
  docs.flatMap((d) => parseRun(d.id, d.data) ?? []);

/** Phase documents a query returned, each parsed. */
export const parseRunPhases = (docs: readonly StoredDoc[]): RunPhaseDoc[] =>
  parseEach(RunPhaseDocSchema, COLLECTIONS.runPhases, docs);

/** For automatic steps over many runs: a corrupt phase document is reported and passed over. */
export const readRunPhaseOrPassOver = async (
  reader: DocumentReader,
  id: string,
): Promise<RunPhaseDoc | undefined> =>
  parseOrPassOver(RunPhaseDocSchema, COLLECTIONS.runPhases, id, await reader.get(COLLECTIONS.runPhases, id));

export const readRunPhase = async (
  reader: DocumentReader,
  decisionId: string,
): Promise<RunPhaseDoc | undefined> =>
  parseDocument(
    RunPhaseDocSchema,
    COLLECTIONS.runPhases,
    decisionId,
    await reader.get(COLLECTIONS.runPhases, decisionId),
  );

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
