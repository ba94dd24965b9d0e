import { childTraceparent } from '../messages/fields.ts';
import { makeRequestId, phaseTopic, type ProcessorRequest } from '../messages/messages.ts';
import type { Transaction } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { addToOutbox } from './outbox.ts';
import { phaseDecisionId, type RunPhaseDoc } from './run-doc.ts';

export interface PhaseOpening {
  runId: string;
  partition: string;
  phase: string;
  processors: readonly string[];
  triggerSource: ProcessorRequest['triggerSource'];
  /** The event that opened it (run_started or the previous phase's gate_passed). */
  parentEventId: string;
  /** The trace the requests continue (each gets a child span). */
  traceparent: string;
  now: string;
}

/**
 * Opens a phase of a run inside the transaction that decided it: its `run_phases` document (what
 * its gate will wait for) and one outbox entry per processor request, so the decision and what it
 * sends commit together (flushOutbox publishes them after the commit). Returns the decision id.
 */
export function openPhase(tx: Transaction, opening: PhaseOpening): string {
  const { runId, partition, phase, now } = opening;
  const decisionId = phaseDecisionId(runId, phase);
  const phaseDoc: RunPhaseDoc = {
    runId,
    phase,
    partition,
    expected: [...opening.processors],
    status: 'running',
    startedAt: now,
    decidedAt: null,
    gate: null,
  };
  tx.set(COLLECTIONS.runPhases, decisionId, { ...phaseDoc });
  for (const processor of opening.processors) {
    const message: ProcessorRequest = {
      runId,
      requestId: makeRequestId({ runId, phase, processor }),
      partition,
      phase,
      processor,
      triggerSource: opening.triggerSource,
      parentEventId: opening.parentEventId,
      traceparent: childTraceparent(opening.traceparent),
    };
    addToOutbox(tx, {
      id: `${decisionId}--${processor}`,
      decisionId,
      runId,
      topic: phaseTopic(phase),
      message: { ...message },
      attributes: { requestId: message.requestId },
      status: 'pending',
      createdAt: now,
      sentAt: null,
    });
  }
  return decisionId;
}
