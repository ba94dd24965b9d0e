import { childTraceparent } from '../messages/fields.ts';
import { makeRequestId, type ProcessorCompleted, type ProcessorRequest } from '../messages/messages.ts';
import type { Transaction } from '../ports/store.ts';
import {
  newQueueEntry,
  readEntryForRewrite,
  recordTransition,
  type QueueEntry,
  type ReplacedEntry,
} from '../recovery/queue-entry.ts';
import { nextRetryDelayMs } from '../recovery/queue-policy.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { describeShortfalls, type GateResult } from './gate.ts';
import type { OrchestratorDeps } from './orchestrator.ts';
import type { RunDoc } from './run-doc.ts';

/** How long a gate-failed processor waits before the auto-retry re-runs it. */
export const GATE_RETRY_DELAY_MS = 60_000;

/** A processor a failed gate found short, and its queue entry (read in the decision's transaction). */
export interface GateEntry {
  processor: string;
  requestId: string;
  entry: QueueEntry | undefined;
  /** A corrupt entry the gate's new one replaces (kept inside it). */
  replaced?: ReplacedEntry;
}

/** The queue entries of the processors a failed gate found short. Every read before any write (Firestore's rule). */
export async function readGateEntries(
  tx: Transaction,
  run: RunDoc,
  phase: string,
  gate: GateResult,
): Promise<GateEntry[]> {
  const responsible = [...new Set(gate.shortfalls.flatMap((s) => s.processors))];
  return Promise.all(
    responsible.map(async (processor) => {
      const requestId = makeRequestId({ runId: run.runId, phase, processor });
      const { existing, replaced } = await readEntryForRewrite(tx, requestId);
      return { processor, requestId, entry: existing, replaced };
    }),
  );
}

export interface GateFailure {
  run: RunDoc;
  completion: ProcessorCompleted;
  gate: GateResult;
  now: string;
  /** The gate_failed event, or null when a re-run's gate failed again (no new event). */
  gateEventId: string | null;
}

/**
 * Queues the processors whose outputs a failed gate found short, to be re-run. A missing entry is
 * created `pending`. One whose re-run completed and was waiting for this gate (`awaitingGate`) is
 * counted again: `pending` with backoff, or past `maxRetries` `failed_permanent`, NEEDS MANUAL FIX.
 * One closed as recovered (not by a person) is re-opened: its data is still short. A re-run still
 * running, an entry still open, one a person resolved or discarded: as they are. Returns the
 * entries that need a person now (to alert on).
 */
export function queueGateFailures(
  deps: OrchestratorDeps,
  tx: Transaction,
  failure: GateFailure,
  entries: readonly GateEntry[],
): QueueEntry[] {
  const exhausted: QueueEntry[] = [];
  for (const { processor, requestId, entry, replaced } of entries) {
    const own = failure.gate.shortfalls.filter((s) => s.processors.includes(processor));
    const lastError = describeShortfalls(own);
    // No expectation for an output is a definition bug: a re-run cannot fix it, a person must.
    const definitionBug = own.every((s) => s.noExpectation);
    const short = { processor, requestId, lastError, definitionBug };
    const needsPerson = entry
      ? countAgain(deps, tx, failure, entry, short)
      : createGateEntry(tx, failure, short, replaced);
    if (needsPerson) exhausted.push(needsPerson);
  }
  return exhausted;
}

interface Shortfall {
  processor: string;
  requestId: string;
  lastError: string;
  definitionBug: boolean;
}

const retryAt = (deps: OrchestratorDeps, now: string, retries: number): string =>
  new Date(
    Date.parse(now) +
      (retries === 0 ? GATE_RETRY_DELAY_MS : nextRetryDelayMs(deps.definition.queue, retries)),
  ).toISOString();

function createGateEntry(
  tx: Transaction,
  failure: GateFailure,
  short: Shortfall,
  replaced: ReplacedEntry | undefined,
): QueueEntry | null {
  const { run, completion, now, gateEventId } = failure;
  const { processor, requestId, definitionBug } = short;
  const phase = completion.phase;
  const request: ProcessorRequest = {
    runId: run.runId,
    requestId,
    partition: run.partition,
    phase,
    processor,
    triggerSource: 'retry',
    parentEventId: gateEventId ?? completion.parentEventId,
    traceparent: childTraceparent(completion.traceparent),
  };
  const created = newQueueEntry(
    {
      requestId,
      status: definitionBug ? 'failed_permanent' : 'pending',
      errorType: definitionBug ? 'permanent' : 'transient',
      errorReason: definitionBug ? 'gate_no_expectation' : 'gate_failed',
      errorName: 'GateFailed',
      lastError: short.lastError,
      runId: run.runId,
      partition: run.partition,
      phase,
      processor,
      request,
      failureEventId: gateEventId,
      nextRetryAt: definitionBug ? null : new Date(Date.parse(now) + GATE_RETRY_DELAY_MS).toISOString(),
    },
    now,
    undefined,
    replaced,
  );
  tx.set(COLLECTIONS.queue, requestId, created);
  return definitionBug ? created : null;
}

/** An entry the gate failed before: counted again when its re-run is done, or re-opened. */
function countAgain(
  deps: OrchestratorDeps,
  tx: Transaction,
  failure: GateFailure,
  entry: QueueEntry,
  short: Shortfall,
): QueueEntry | null {
  const reopen = entry.status === 'succeeded' && !entry.resolvedAt;
  const rerunDone = entry.status === 'retrying' && entry.awaitingGate === true;
  if (!reopen && !rerunDone) return null;
  const { now } = failure;
  const { maxRetries } = deps.definition.queue;
  const counted = { lastFailedAt: now, occurrences: (entry.occurrences ?? 0) + 1, updatedAt: now };
  if (entry.retryCount >= maxRetries || short.definitionBug) {
    const message = short.definitionBug
      ? short.lastError
      : `gate still failing after ${entry.retryCount} re-runs: ${short.lastError}`;
    const to = 'failed_permanent';
    recordTransition(tx, { entry, type: 'queue_failed_permanent', at: now, from: entry.status, to, message });
    const update = {
      status: to,
      needsManualFix: true,
      awaitingGate: false,
      nextRetryAt: null,
      lastError: message,
    };
    tx.set(COLLECTIONS.queue, short.requestId, { ...update, ...counted }, { merge: true });
    return { ...entry, lastError: message };
  }
  recordTransition(tx, {
    entry,
    type: 'gate_failed_again',
    at: now,
    from: entry.status,
    to: 'pending',
    message: `re-run ${entry.retryCount} of ${maxRetries} still short: ${short.lastError}`,
  });
  const update = {
    status: 'pending',
    needsManualFix: false,
    awaitingGate: false,
    nextRetryAt: retryAt(deps, now, entry.retryCount),
    lastError: short.lastError,
  };
  tx.set(COLLECTIONS.queue, short.requestId, { ...update, ...counted }, { merge: true });
  return null;
}
