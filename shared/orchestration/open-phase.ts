import { childTraceparent } from '../messages/fields.ts';
import { makeRequestId, phaseTopic, type ProcessorRequest } from '../messages/messages.ts';
import type { Transaction } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { addToOutbox, type OutboxEntry } from './outbox.ts';
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
  /** The message whose handler decides the opening, and sends its requests (outbox.ts `sender`). */
  sender: string;
}

/** What an opening wrote: its decision id and the outbox entries its sender publishes after the commit. */
export interface OpenedPhase {
  decisionId: string;
  entries: OutboxEntry[];
}

/**
 * Opens a phase of a run inside the transaction that decided it: its `run_phases` document (what
 * its gate will wait for) and one outbox entry per processor request, so the decision and what it
 * sends commit together (sendOutboxEntries publishes them after the commit).
 */
export function openPhase(tx: Transaction, opening: PhaseOpening): OpenedPhase {
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
  const entries = opening.processors.map((processor): OutboxEntry => {
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
    return {
      id: `${decisionId}--${processor}`,
      decisionId,
      runId,
      topic: phaseTopic(phase),
      message: { ...message },
      attributes: { requestId: message.requestId },
      status: 'pending',
      createdAt: now,
      sentAt: null,
      sender: opening.sender,
    };
  });
  for (const entry of entries) addToOutbox(tx, entry);
  return { decisionId, entries };
}
