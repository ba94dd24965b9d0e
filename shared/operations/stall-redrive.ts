import { writeEvent } from '../events/write-event.ts';
import { childTraceparent, newTraceparent } from '../messages/fields.ts';
import {
  makeRequestId,
  phaseTopic,
  type ProcessorCompleted,
  type ProcessorRequest,
} from '../messages/messages.ts';
import type { DocumentStore } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { addToOutbox, flushOutbox } from '../orchestration/outbox.ts';
import { waitingFor } from '../orchestration/phase-completions.ts';
import {
  parseRunPhases,
  phaseDecisionId,
  readRunOrPassOver,
  readRunPhase,
  type RunDoc,
  type RunPhaseDoc,
} from '../orchestration/run-doc.ts';
import type { ReconcilerDeps } from './reconciler.ts';
import { RECONCILE_WINDOW_MS } from './run-healing.ts';
import { completionToRedeliver, redeliveryEntry } from './stalled-decision.ts';
import { isPaused } from '../orchestration/pause-state.ts';

/** The outbox decision of a phase's stall re-drive: one per phase decision, so it is sent once. */
const stallRedriveId = (decisionId: string) => `${decisionId}--stall`;

/** The processors of a phase that neither completed (on its document) nor settled in the queue (a failure the run records). */
function unfinishedProcessors(run: RunDoc, phaseDoc: RunPhaseDoc): string[] {
  const settled = new Set(
    Object.entries(run.failures)
      .filter(([, f]) => f.phase === phaseDoc.phase)
      .map(([p]) => p),
  );
  return waitingFor(phaseDoc).filter((p) => !settled.has(p));
}

/** What a stall that misses no processor waits for: its decision (re-driven when a completion is stored) or its failures' retries. */
function undecidedNote(undecided: boolean, redelivered: ProcessorCompleted | undefined): string {
  if (!undecided) return 'the retries of its failed processors (see the queue)';
  if (!redelivered) return 'its gate decision, and no stored completion to re-deliver: a person must look';
  return `its gate decision: re-delivered the completion of ${redelivered.processor}`;
}

interface Stall {
  run: RunDoc;
  phase: string;
  missing: string[];
  runningForMs: number;
  expectedDurationSeconds: number;
  now: Date;
}

/**
 * Claims the stall of a phase, once: marks its decision, puts the re-drive of each missing processor
 * in the outbox (or, when every completion is recorded and nobody decided, the re-delivery of one
 * stored completion: stalled-decision.ts) and records the `stalled` event, in one transaction.
 * Says what the phase waits for; undefined when the stall was already claimed.
 */
async function claimStall(store: DocumentStore, stall: Stall): Promise<string | undefined> {
  const { run, phase, missing, now } = stall;
  const decisionId = phaseDecisionId(run.runId, phase);
  const eventId = `${decisionId}--stalled`;
  const redrive = stallRedriveId(decisionId);
  return store.transaction(async (tx) => {
    const current = await readRunPhase(tx, decisionId);
    if (!current || current.status !== 'running' || current.stallRedrivenAt) return undefined;
    const undecided = missing.length === 0 && waitingFor(current).length === 0;
    const redelivered = undecided ? await completionToRedeliver(tx, run, current) : undefined;
    tx.set(
      COLLECTIONS.runPhases,
      decisionId,
      { stallRedrivenAt: now.toISOString(), stalledProcessors: missing },
      { merge: true },
    );
    // The re-drive goes through the outbox, decided with the claim: a publish that fails now is
    // re-sent by a later tick (the claim means no second re-drive would ever come).
    for (const processor of missing) {
      const request: ProcessorRequest = {
        runId: run.runId,
        requestId: makeRequestId({ runId: run.runId, phase, processor }),
        partition: run.partition,
        phase,
        processor,
        triggerSource: run.triggerSource as ProcessorRequest['triggerSource'],
        parentEventId: eventId,
        traceparent: run.traceparent ? childTraceparent(run.traceparent) : newTraceparent(),
      };
      addToOutbox(tx, {
        id: `${redrive}--${processor}`,
        decisionId: redrive,
        runId: run.runId,
        topic: phaseTopic(phase),
        message: { ...request },
        attributes: { requestId: request.requestId, redrive: 'stall' },
        status: 'pending',
        createdAt: now.toISOString(),
        sentAt: null,
        sender: redrive,
      });
    }
    if (redelivered) addToOutbox(tx, redeliveryEntry(redrive, redelivered, now));
    const runningForSeconds = Math.round(stall.runningForMs / 1000);
    const waitingOn = missing.length > 0 ? missing.join(', ') : undecidedNote(undecided, redelivered);
    writeEvent(tx, {
      eventId,
      type: 'stalled',
      at: now.toISOString(),
      runId: run.runId,
      requestId: null,
      partition: run.partition,
      phase,
      processor: null,
      attempt: null,
      triggerSource: run.triggerSource,
      traceparent: run.traceparent,
      parentEventId: `${run.runId}--run_started`,
      runningForSeconds,
      expectedDurationSeconds: stall.expectedDurationSeconds,
      missing,
      message:
        `phase ${phase} RUNNING for ${runningForSeconds} s (expected ` +
        `${stall.expectedDurationSeconds} s); waiting for ${waitingOn}`,
    });
    return waitingOn;
  });
}

/**
 * A phase RUNNING longer than its expected duration is stalled: one `stalled` event, one
 * alert, and the requests of its processors that neither completed nor settled in the
 * queue are re-published once (a lost message or a lost completion is re-driven); a phase that
 * lacks only its decision gets one stored completion re-delivered.
 */
export async function detectStalls(
  deps: Pick<ReconcilerDeps, 'definition' | 'store' | 'publisher' | 'clock' | 'logger' | 'notifier'>,
  now: Date,
): Promise<string[]> {
  // Phases started within the window only (index status, startedAt): a stall is seen within a tick of
  // outliving its expected duration, while the phases of runs that ended PARTIAL stay `running` for
  // ever and would make every tick read the whole history.
  // Paused by an operator: phases wait for their held triggers, which is not a stall.
  if (await isPaused(deps.store)) return [];
  const since = new Date(now.getTime() - RECONCILE_WINDOW_MS).toISOString();
  const running = parseRunPhases(
    await deps.store.query(COLLECTIONS.runPhases, {
      filters: [
        { field: 'status', op: '==', value: 'running' },
        { field: 'startedAt', op: '>=', value: since },
      ],
    }),
  );
  const stalled: string[] = [];
  for (const phaseDoc of running) {
    const spec = deps.definition.phases.find((p) => p.id === phaseDoc.phase);
    if (!spec || phaseDoc.stallRedrivenAt) continue;
    const runningForMs = now.getTime() - Date.parse(phaseDoc.startedAt);
    if (runningForMs <= spec.expectedDurationSeconds * 1000) continue;
    const run = await readRunOrPassOver(deps.store, phaseDoc.runId);
    if (!run || run.status !== 'RUNNING') continue;
    const missing = unfinishedProcessors(run, phaseDoc);
    const stall = {
      run,
      phase: phaseDoc.phase,
      missing,
      runningForMs,
      expectedDurationSeconds: spec.expectedDurationSeconds,
      now,
    };
    const waitingOn = await claimStall(deps.store, stall);
    if (waitingOn === undefined) continue;
    const decisionId = phaseDecisionId(run.runId, phaseDoc.phase);
    const redrive = stallRedriveId(decisionId);
    stalled.push(decisionId);
    try {
      await flushOutbox(deps.store, deps.publisher, redrive, () => deps.clock.now(), redrive);
    } catch (error) {
      deps.logger.warn(
        { decisionId, err: error instanceof Error ? error.message : String(error) },
        'stall re-drive not sent now: the outbox re-sends it on a later tick',
      );
    }
    await deps.notifier?.({
      kind: 'stalled',
      dedupKey: `stalled:${phaseDoc.phase}`,
      runId: run.runId,
      partition: run.partition,
      phase: phaseDoc.phase,
      processor: null,
      message: `run ${run.runId}: phase ${phaseDoc.phase} stalled; waiting for ${waitingOn}`,
    });
  }
  return stalled;
}
