import { runEventFields, writeEvent } from '../events/write-event.ts';
import type { ProcessorCompleted, ProcessorRequest } from '../messages/messages.ts';
import type { Transaction } from '../ports/store.ts';
import type { QueueEntry } from '../recovery/queue-entry.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { describeShortfalls, type GateResult } from './gate.ts';
import { openPhase, type OpenedPhase } from './open-phase.ts';
import type { OrchestratorDeps } from './orchestrator.ts';
import { queueGateFailures, readGateEntries } from './queue-gate-failures.ts';
import {
  phaseDecisionId,
  updateRun,
  type RunDoc,
  type RunPhaseDoc,
  parseRun,
  parseRunPhase,
} from './run-doc.ts';

export interface PhaseDecision {
  /** The next phase, when this decision opened it: its outbox entries are for the decider to send. */
  next: OpenedPhase | null;
  /** The run as this decision left it (undefined when it decided nothing). */
  run?: RunDoc;
  /** Queue entries that need a person after this gate failure (to alert on). */
  exhausted: QueueEntry[];
  /** The run was superseded since its completion was read: nothing was decided. */
  superseded?: string;
  /** An operator cancelled the run: nothing was decided. */
  cancelled?: true;
}

/**
 * The one trigger decision of a phase, in a transaction on its own run_phases document (contended
 * only by the last completions of that phase, never by every completion): the gate's verdict on
 * the phase and the run, then either the next phase opened (its requests in the outbox, in the
 * same transaction, naming `sender`, the message deciding, as theirs to send) or the processors that
 * fell short queued for a re-run.
 */
export async function decidePhase(
  deps: OrchestratorDeps,
  completion: ProcessorCompleted,
  gate: GateResult,
  sender: string,
): Promise<PhaseDecision> {
  const now = deps.clock.now().toISOString();
  return deps.store.transaction(async (tx) => {
    const decisionId = phaseDecisionId(completion.runId, completion.phase);
    // Both in one read: a transaction's second read otherwise waits for its first.
    const [phaseData, runData] = await tx.getAll([
      { collection: COLLECTIONS.runPhases, id: decisionId },
      { collection: COLLECTIONS.runs, id: completion.runId },
    ]);
    const current = parseRunPhase(decisionId, phaseData);
    const run = parseRun(completion.runId, runData);
    // A run superseded since its completion was read decides nothing (the newer run took the lock
    // and marked this one in one transaction).
    if (run?.supersededBy) return { next: null, exhausted: [], superseded: run.supersededBy };
    if (!current || !run || current.status === 'gate_passed') return { next: null, exhausted: [] };
    // Cancelled by an operator: its completions stay recorded, nothing more is decided or triggered.
    if (run.cancelled) return { next: null, exhausted: [], run, cancelled: true };
    const shortEntries = gate.passed ? [] : await readGateEntries(tx, run, completion.phase, gate);
    const failure = { run, completion, gate, now, gateEventId: null };
    // Failed again, after a re-run: the entries of the processors still short are counted again.
    if (current.status === 'gate_failed' && !gate.passed)
      return { next: null, exhausted: queueGateFailures(deps, tx, failure, shortEntries), run };
    const { eventId: gateEventId, run: decided } = recordVerdict(deps, tx, {
      completion,
      current,
      run,
      gate,
      now,
    });
    if (!gate.passed) {
      const exhausted = queueGateFailures(deps, tx, { ...failure, gateEventId }, shortEntries);
      return { next: null, exhausted, run: decided };
    }
    const next = deps.definition.nextPhase(completion.phase);
    if (!next) return { next: null, exhausted: [], run: decided };
    const opened = openPhase(tx, {
      runId: run.runId,
      partition: run.partition,
      phase: next.id,
      processors: next.processors.map((p) => p.name),
      triggerSource: run.triggerSource as ProcessorRequest['triggerSource'],
      parentEventId: gateEventId,
      traceparent: completion.traceparent,
      now,
      sender,
    });
    return { next: opened, exhausted: [], run: decided };
  });
}

interface Verdict {
  completion: ProcessorCompleted;
  /** The phase's run_phases document as the transaction read it. */
  current: RunPhaseDoc;
  run: RunDoc;
  gate: GateResult;
  now: string;
}

/** The gate's verdict on the phase document, as an event, and on the run. Returns the event's id and the run. */
function recordVerdict(
  deps: OrchestratorDeps,
  tx: Transaction,
  verdict: Verdict,
): { eventId: string; run: RunDoc } {
  const { completion, current, run, gate, now } = verdict;
  const phase = completion.phase;
  const decisionId = phaseDecisionId(run.runId, phase);
  // A partition with nothing to process succeeds, and says so: every expectation was 0.
  const nothing = gate.passed && gate.checks.every((c) => c.expected === 0 && c.found === 0);
  const nothingNote = `nothing expected for ${run.partition} (no data for the partition)`;
  const reason = gate.passed
    ? `gate of ${phase} passed${nothing ? `: ${nothingNote}` : ''}`
    : `gate of ${phase} failed`;
  const type = gate.passed ? 'gate_passed' : 'gate_failed';
  // A gate passing after it failed is a new event (a re-failure returned above, without one).
  const eventId = `${decisionId}--${type}${current.status === 'gate_failed' ? `-${now}` : ''}`;
  tx.set(COLLECTIONS.runPhases, decisionId, { ...current, status: type, decidedAt: now, gate: { ...gate } });
  const fields = {
    eventId,
    at: now,
    ...runEventFields({
      ...run,
      phase,
      traceparent: completion.traceparent,
      parentEventId: completion.parentEventId,
    }),
    checks: gate.checks,
    shortfalls: gate.shortfalls,
  };
  if (gate.passed) writeEvent(tx, { ...fields, type: 'gate_passed', message: nothing ? reason : null });
  else writeEvent(tx, { ...fields, type: 'gate_failed', message: describeShortfalls(gate.shortfalls) });
  const next = gate.passed ? deps.definition.nextPhase(phase) : undefined;
  const updated = updateRun(run, now, reason, (draft) => {
    const state = draft.phases[phase];
    if (state) {
      state.status = gate.passed ? 'SUCCEEDED' : 'GATE_FAILED';
      state.done = current.expected.length;
    }
    if (nothing) draft.notes = [...new Set([...(draft.notes ?? []), `phase ${phase}: ${nothingNote}`])];
    if (gate.passed) delete draft.gateFailures[phase];
    else draft.gateFailures[phase] = describeShortfalls(gate.shortfalls);
    if (next && draft.phases[next.id]) draft.phases[next.id]!.status = 'RUNNING';
  });
  tx.set(COLLECTIONS.runs, run.runId, { ...updated });
  return { eventId, run: updated };
}
