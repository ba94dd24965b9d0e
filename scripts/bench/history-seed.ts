// A pipeline's history written straight into a store: what benchmark 8 and its test seed before they
// measure what a reconcile tick, the dashboard and health read.
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { writeEvent } from '../../shared/events/write-event.ts';
import { makeRequestId, phaseTopic } from '../../shared/messages/messages.ts';
import { newRunDoc, phaseDecisionId, updateRun, type RunDoc } from '../../shared/orchestration/run-doc.ts';
import type { DocData, DocWrite } from '../../shared/ports/store.ts';
import { newQueueEntry } from '../../shared/recovery/queue-entry.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';

export type SeededStatus = 'SUCCESS' | 'PARTIAL' | 'FAILED' | 'SUPERSEDED';

/** Of every 50 runs: 45 succeeded, 3 PARTIAL (a processor failed for good), 1 FAILED (the root's gate), 1 superseded. */
export const statusOf = (i: number): SeededStatus =>
  i % 50 < 45 ? 'SUCCESS' : i % 50 < 48 ? 'PARTIAL' : i % 50 < 49 ? 'FAILED' : 'SUPERSEDED';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const iso = (ms: number) => new Date(ms).toISOString();

/** The last phase for a PARTIAL run (its failed processor), the root for a FAILED one, none otherwise. */
function failedPhaseIndex(status: SeededStatus, phases: number): number {
  return status === 'PARTIAL' ? phases - 1 : status === 'FAILED' ? 0 : -1;
}

/**
 * One finished run as the orchestrator leaves it: the run, a phase document per phase it reached (a
 * PARTIAL run's failed phase stays `running`, as it does for real), its run_started and last gate
 * events, and the sent outbox entry of its first phase's requests. A PARTIAL run whose failed
 * processor's entry is still open (`openEntry`) has that entry too, as a recent one would.
 */
export function runDocuments(
  definition: LoadedDefinition,
  run: { id: string; status: SeededStatus; startedMs: number; openEntry: boolean },
): DocWrite[] {
  const phases = definition.phases;
  const root = phases[0]!;
  if (phases.length < 2) throw new Error('a seeded history needs a pipeline of at least two phases');
  const started = iso(run.startedMs);
  const fresh = newRunDoc({
    definition,
    requestMessageId: run.id,
    runId: run.id,
    partition: definition.scheme.containing(new Date(run.startedMs), 'UTC'),
    triggerSource: 'scheduled',
    requestedBy: null,
    traceparent: TRACEPARENT,
    startPhase: root.id,
    processors: root.processors.map((p) => p.name),
    now: started,
  });
  const failed = failedPhaseIndex(run.status, phases.length);
  const failedProcessor = phases.at(-1)!.processors[0]!.name;
  const endedAt = iso(run.startedMs + 60_000);
  const ended: RunDoc = updateRun(fresh, endedAt, `history: ${run.status}`, (draft) => {
    phases.forEach((p, i) => {
      const state = draft.phases[p.id]!;
      const reached = failed < 0 || i < failed;
      state.status = reached
        ? 'SUCCEEDED'
        : i === failed
          ? failed === 0
            ? 'GATE_FAILED'
            : 'RUNNING'
          : 'PENDING';
      state.done = reached ? state.expected.length : 0;
    });
    if (run.status === 'FAILED') draft.gateFailures[root.id] = 'history: short by 1';
    if (run.status === 'PARTIAL')
      draft.failures[failedProcessor] = {
        phase: phases.at(-1)!.id,
        status: 'failed_permanent',
        errorType: 'permanent',
        message: 'history',
        at: endedAt,
      };
    if (run.status === 'SUPERSEDED') draft.supersededBy = `${run.id}-next`;
  });
  const writes: DocWrite[] = [{ collection: COLLECTIONS.runs, id: run.id, data: { ...ended } }];
  const collect = {
    set: (collection: string, id: string, data: DocData) => writes.push({ collection, id, data }),
  };
  const reached = failed < 0 ? phases : phases.slice(0, failed + 1);
  reached.forEach((p, i) => {
    const status = i !== failed ? 'gate_passed' : failed === 0 ? 'gate_failed' : 'running';
    collect.set(COLLECTIONS.runPhases, phaseDecisionId(run.id, p.id), {
      runId: run.id,
      phase: p.id,
      partition: ended.partition,
      expected: p.processors.map((s) => s.name),
      status,
      startedAt: iso(run.startedMs + i * 10_000),
      decidedAt: status === 'running' ? null : iso(run.startedMs + i * 10_000 + 5_000),
      gate: status === 'running' ? null : { passed: status === 'gate_passed', checks: [], shortfalls: [] },
    });
  });
  const fields = {
    runId: run.id,
    requestId: null,
    partition: ended.partition,
    processor: null,
    attempt: null,
    triggerSource: ended.triggerSource,
    traceparent: TRACEPARENT,
  };
  writeEvent(collect, {
    ...fields,
    eventId: `${run.id}--run_started`,
    type: 'run_started',
    at: started,
    phase: root.id,
    parentEventId: null,
    processors: fresh.phases[root.id]!.expected,
    force: false,
  });
  // The last gate decided: the root's that failed, or the last one passed.
  const gatePhase = reached.at(failed === 0 ? 0 : failed > 0 ? -2 : -1)!;
  const gateFields = {
    ...fields,
    eventId: `${phaseDecisionId(run.id, gatePhase.id)}--gate`,
    at: endedAt,
    phase: gatePhase.id,
    parentEventId: `${run.id}--run_started`,
    checks: [],
    shortfalls: [],
  };
  writeEvent(
    collect,
    failed === 0
      ? { ...gateFields, type: 'gate_failed', message: 'history: short by 1' }
      : { ...gateFields, type: 'gate_passed', message: null },
  );
  const decisionId = phaseDecisionId(run.id, root.id);
  collect.set(COLLECTIONS.outbox, `${decisionId}--trigger`, {
    id: `${decisionId}--trigger`,
    decisionId,
    runId: run.id,
    topic: phaseTopic(root.id),
    message: { runId: run.id },
    attributes: {},
    status: 'sent',
    createdAt: started,
    sentAt: started,
  });
  if (run.status === 'PARTIAL' && run.openEntry) {
    const phase = phases.at(-1)!.id;
    const requestId = makeRequestId({ runId: run.id, phase, processor: failedProcessor });
    collect.set(
      COLLECTIONS.queue,
      requestId,
      queueEntry(requestId, run.id, ended.partition, phase, failedProcessor, endedAt),
    );
  }
  return writes;
}

/** A queue entry of a processor that failed for good; `closedAs` closes it (a person, or a later success). */
function queueEntry(
  requestId: string,
  runId: string,
  partition: string,
  phase: string,
  processor: string,
  at: string,
  closedAs?: 'succeeded' | 'discarded' | 'superseded',
): DocData {
  const entry = newQueueEntry(
    {
      requestId,
      status: 'failed_permanent',
      errorType: 'permanent',
      errorReason: 'validation',
      errorName: 'PermanentError',
      lastError: 'history',
      runId,
      partition,
      phase,
      processor,
      request: { runId, requestId, phase, processor, partition },
      failureEventId: `${requestId}--a1--processor_failed`,
      nextRetryAt: null,
    },
    at,
  );
  return closedAs ? { ...entry, status: closedAs, needsManualFix: false } : { ...entry };
}

export interface HistorySize {
  /** Finished runs, every one older than `endsMs`, one every `everyMs` before it. */
  runs: number;
  /** Closed queue entries of those runs. */
  closedEntries: number;
}

/** The documents of a history, lazily (100,000 runs are about a million documents). */
export function* historyDocuments(
  definition: LoadedDefinition,
  size: HistorySize & { prefix: string; endsMs: number; everyMs: number; openEntries: boolean },
): Generator<DocWrite> {
  const startedMs = (i: number) => size.endsMs - (size.runs - i) * size.everyMs;
  for (let i = 0; i < size.runs; i += 1) {
    const run = {
      id: `${size.prefix}-run-${i}`,
      status: statusOf(i),
      startedMs: startedMs(i),
      openEntry: size.openEntries,
    };
    yield* runDocuments(definition, run);
  }
  const closed = ['succeeded', 'discarded', 'superseded'] as const;
  const last = definition.phases.at(-1)!;
  for (let j = 0; j < size.closedEntries && size.runs > 0; j += 1) {
    const i = j % size.runs;
    const processor = last.processors[j % last.processors.length]!.name;
    const requestId = `${size.prefix}-entry-${j}`;
    const partition = definition.scheme.containing(new Date(startedMs(i)), 'UTC');
    const data = queueEntry(
      requestId,
      `${size.prefix}-run-${i}`,
      partition,
      last.id,
      processor,
      iso(startedMs(i)),
      closed[j % 3],
    );
    yield { collection: COLLECTIONS.queue, id: requestId, data };
  }
}
