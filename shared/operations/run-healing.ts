import { isDeepStrictEqual } from 'node:util';
import type { DocumentStore } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { describeShortfalls, type GateCheck } from '../orchestration/gate.ts';
import {
  phaseDecisionId,
  updateRun,
  type RunDoc,
  readRunPhaseOrPassOver,
  parseRuns,
  readRunOrPassOver,
} from '../orchestration/run-doc.ts';
import type { PhaseState, ProcessorFailureState } from '../orchestration/run-status.ts';
import { parseEntries } from '../recovery/queue-entry.ts';

/** Runs not final are reconciled; so are PARTIAL/FAILED runs this recent (their queue may have recovered). */
export const RECONCILE_WINDOW_MS = 7 * 86_400_000;

/** The run as its durable parts say it is: phase decisions, completions and queue entries. */
export async function recomputeRun(
  deps: { store: DocumentStore },
  run: RunDoc,
): Promise<Pick<RunDoc, 'phases' | 'failures' | 'gateFailures'>> {
  const phases: Record<string, PhaseState> = {};
  const gateFailures: Record<string, string> = {};
  for (const phaseId of run.phaseOrder) {
    const doc = await readRunPhaseOrPassOver(deps.store, phaseDecisionId(run.runId, phaseId));
    const expected = doc?.expected ?? run.phases[phaseId]?.expected ?? [];
    const status = !doc
      ? 'PENDING'
      : doc.status === 'gate_passed'
        ? 'SUCCEEDED'
        : doc.status === 'gate_failed'
          ? 'GATE_FAILED'
          : 'RUNNING';
    phases[phaseId] = { status, expected, done: status === 'SUCCEEDED' ? expected.length : 0 };
    if (doc?.status === 'gate_failed')
      gateFailures[phaseId] = describeShortfalls((doc.gate?.shortfalls as GateCheck[] | undefined) ?? []);
  }
  const entries = parseEntries(
    await deps.store.query(COLLECTIONS.queue, { filters: [{ field: 'runId', op: '==', value: run.runId }] }),
  );
  const failures: Record<string, ProcessorFailureState> = {};
  for (const e of entries) {
    if (!e.processor || !run.phaseOrder.includes(e.phase)) continue;
    if (e.status !== 'failed_permanent' && e.status !== 'waiting') continue;
    failures[e.processor] = {
      phase: e.phase,
      status: e.status,
      errorType: e.errorType,
      message: e.lastError,
      at: e.firstFailedAt,
    };
  }
  return { phases, failures, gateFailures };
}

/** Rewrites the status of each recent run whose durable parts say otherwise; returns the runs healed. */
export async function healRuns(deps: { store: DocumentStore }, now: Date): Promise<string[]> {
  const since = new Date(now.getTime() - RECONCILE_WINDOW_MS).toISOString();
  // What a tick reads grows with the window, not with history: every RUNNING run (however old: one
  // that never ended is exactly what to heal) and the runs that ended within the window, through
  // the composite index (status, updatedAt) of firestore.indexes.json.
  const [running, ended] = await Promise.all([
    deps.store.query(COLLECTIONS.runs, { filters: [{ field: 'status', op: '==', value: 'RUNNING' }] }),
    deps.store.query(COLLECTIONS.runs, {
      filters: [
        { field: 'status', op: 'in', value: ['PARTIAL', 'FAILED'] },
        { field: 'updatedAt', op: '>=', value: since },
      ],
    }),
  ]);
  const candidates = parseRuns([...running, ...ended]);
  const healed: string[] = [];
  for (const run of candidates) {
    const truth = await recomputeRun(deps, run);
    const changed = await deps.store.transaction(async (tx) => {
      const current = await readRunOrPassOver(tx, run.runId);
      // The truth was computed from reads outside this transaction: if the run moved on meanwhile
      // (a gate, a failure), it is stale, and writing it would undo what happened. The next tick recomputes.
      if (!current || !isDeepStrictEqual(current, run)) return false;
      const updated = updateRun(
        current,
        now.toISOString(),
        'reconciler: recomputed from durable state',
        (draft) => {
          draft.phases = truth.phases;
          draft.failures = truth.failures;
          draft.gateFailures = truth.gateFailures;
        },
      );
      const differs =
        updated.status !== current.status ||
        JSON.stringify(Object.values(updated.phases).map((p) => p.status)) !==
          JSON.stringify(Object.values(current.phases).map((p) => p.status));
      if (!differs) return false;
      tx.set(COLLECTIONS.runs, run.runId, { ...updated });
      return true;
    });
    if (changed) healed.push(run.runId);
  }
  return healed;
}
