import { isDeepStrictEqual } from 'node:util';
import { pumpDependencies } from '../orchestration/dependencies.ts';
import type { LoadedDefinition } from '../definition/load.ts';
import { childTraceparent, newTraceparent } from '../messages/fields.ts';
import { makeRequestId, phaseTopic, type ProcessorRequest } from '../messages/messages.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { Publisher } from '../ports/publisher.ts';
import type { DocumentStore, QueryOptions } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { describeShortfalls, type GateCheck } from '../orchestration/gate.ts';
import { addToOutbox, flushOutbox, type OutboxEntry } from '../orchestration/outbox.ts';
import { phaseDecisionId, updateRun, type RunDoc, type RunPhaseDoc } from '../orchestration/run-doc.ts';
import type { PhaseState, ProcessorFailureState } from '../orchestration/run-status.ts';
import type { Notifier } from '../recovery/notifier.ts';
import { describeHeld, type HeldMessages, type PeekHeld } from '../ports/held-messages.ts';
import { sweepSuperseded } from '../recovery/supersede.ts';
import type { QueueEntry } from '../recovery/queue-entry.ts';

export interface ReconcilerDeps {
  definition: LoadedDefinition;
  store: DocumentStore;
  publisher: Publisher;
  clock: Clock;
  logger: Logger;
  notifier?: Notifier;
  /** Peeks control-dlq (functions-entry wires the Pub/Sub one); absent, it is not checked. */
  controlDlq?: PeekHeld;
}

export interface ReconcileResult {
  healed: string[];
  outboxResent: number;
  stalled: string[];
  /** Alerts whose webhook POST had failed, sent again. */
  alertsResent: number;
  /** What control-dlq holds (null: not checked, or the peek failed). */
  controlDlq: HeldMessages | null;
  /** Open entries of superseded runs, closed or re-targeted (the start of the newer run normally does it). */
  superseded: string[];
}

/** An outbox entry pending this long was not sent by its own delivery: the reconciler sends it. */
export const OUTBOX_GRACE_MS = 30_000;
/** Runs not final are reconciled; so are PARTIAL/FAILED runs this recent (their queue may have recovered). */
export const RECONCILE_WINDOW_MS = 7 * 86_400_000;

/** The run as its durable parts say it is: phase decisions, completions and queue entries. */
export async function recomputeRun(
  deps: Pick<ReconcilerDeps, 'store'>,
  run: RunDoc,
): Promise<Pick<RunDoc, 'phases' | 'failures' | 'gateFailures'>> {
  const phases: Record<string, PhaseState> = {};
  const gateFailures: Record<string, string> = {};
  for (const phaseId of run.phaseOrder) {
    const doc = (await deps.store.get(COLLECTIONS.runPhases, phaseDecisionId(run.runId, phaseId))) as
      RunPhaseDoc | undefined;
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
  const entries = (
    await deps.store.query(COLLECTIONS.queue, { filters: [{ field: 'runId', op: '==', value: run.runId }] })
  ).map((d) => d.data as unknown as QueueEntry);
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

async function healRuns(deps: ReconcilerDeps, now: Date): Promise<string[]> {
  const since = new Date(now.getTime() - RECONCILE_WINDOW_MS).toISOString();
  const candidates = (
    await deps.store.query(COLLECTIONS.runs, {
      filters: [{ field: 'status', op: 'in', value: ['RUNNING', 'PARTIAL', 'FAILED'] }],
    })
  )
    .map((d) => d.data as unknown as RunDoc)
    .filter((r) => r.status === 'RUNNING' || r.updatedAt >= since);
  const healed: string[] = [];
  for (const run of candidates) {
    const truth = await recomputeRun(deps, run);
    const changed = await deps.store.transaction(async (tx) => {
      const current = (await tx.get(COLLECTIONS.runs, run.runId)) as RunDoc | undefined;
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

/** Outbox entries still pending at the cutoff. Needs the composite index (status, createdAt): `validate` checks it is declared. */
export function unsentOutboxQuery(cutoffIso: string): QueryOptions {
  return {
    filters: [
      { field: 'status', op: '==', value: 'pending' },
      { field: 'createdAt', op: '<=', value: cutoffIso },
    ],
    limit: 500,
  };
}

async function resendOutbox(deps: ReconcilerDeps, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - OUTBOX_GRACE_MS).toISOString();
  const pending = await deps.store.query(COLLECTIONS.outbox, unsentOutboxQuery(cutoff));
  for (const doc of pending) {
    const entry = doc.data as unknown as OutboxEntry;
    await deps.publisher.publish(entry.topic, entry.message, entry.attributes);
    await deps.store.set(
      COLLECTIONS.outbox,
      doc.id,
      { status: 'sent', sentAt: now.toISOString(), sentBy: 'reconciler' },
      { merge: true },
    );
  }
  return pending.length;
}

/**
 * A phase RUNNING longer than its expected duration is stalled: one `stalled` event, one
 * alert, and the requests of its processors that neither completed nor settled in the
 * queue are re-published once (a lost message or a lost completion is re-driven).
 */
async function detectStalls(deps: ReconcilerDeps, now: Date): Promise<string[]> {
  const running = (
    await deps.store.query(COLLECTIONS.runPhases, {
      filters: [{ field: 'status', op: '==', value: 'running' }],
    })
  ).map((d) => d.data as unknown as RunPhaseDoc & { stallRedrivenAt?: string });
  const stalled: string[] = [];
  for (const phaseDoc of running) {
    const spec = deps.definition.phases.find((p) => p.id === phaseDoc.phase);
    if (!spec || phaseDoc.stallRedrivenAt) continue;
    const runningForMs = now.getTime() - Date.parse(phaseDoc.startedAt);
    if (runningForMs <= spec.expectedDurationSeconds * 1000) continue;
    const run = (await deps.store.get(COLLECTIONS.runs, phaseDoc.runId)) as RunDoc | undefined;
    if (!run || run.status !== 'RUNNING') continue;
    const completed = new Set(
      (
        await deps.store.query(COLLECTIONS.runCompletions, {
          filters: [
            { field: 'runId', op: '==', value: run.runId },
            { field: 'phase', op: '==', value: phaseDoc.phase },
          ],
        })
      ).map((d) => d.data.processor),
    );
    const settled = new Set(
      Object.entries(run.failures)
        .filter(([, f]) => f.phase === phaseDoc.phase)
        .map(([p]) => p),
    );
    const missing = phaseDoc.expected.filter((p) => !completed.has(p) && !settled.has(p));
    const decisionId = phaseDecisionId(run.runId, phaseDoc.phase);
    const eventId = `${decisionId}--stalled`;
    const redrive = `${decisionId}--stall`;
    const claimed = await deps.store.transaction(async (tx) => {
      const current = (await tx.get(COLLECTIONS.runPhases, decisionId)) as
        (RunPhaseDoc & { stallRedrivenAt?: string }) | undefined;
      if (!current || current.status !== 'running' || current.stallRedrivenAt) return false;
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
          requestId: makeRequestId({ runId: run.runId, phase: phaseDoc.phase, processor }),
          partition: run.partition,
          phase: phaseDoc.phase,
          processor,
          triggerSource: run.triggerSource as ProcessorRequest['triggerSource'],
          parentEventId: eventId,
          traceparent: run.traceparent ? childTraceparent(run.traceparent) : newTraceparent(),
        };
        addToOutbox(tx, {
          id: `${redrive}--${processor}`,
          decisionId: redrive,
          runId: run.runId,
          topic: phaseTopic(phaseDoc.phase),
          message: { ...request },
          attributes: { requestId: request.requestId, redrive: 'stall' },
          status: 'pending',
          createdAt: now.toISOString(),
          sentAt: null,
        });
      }
      tx.set(COLLECTIONS.events, eventId, {
        eventId,
        type: 'stalled',
        at: now.toISOString(),
        runId: run.runId,
        requestId: null,
        partition: run.partition,
        phase: phaseDoc.phase,
        processor: null,
        attempt: null,
        triggerSource: run.triggerSource,
        traceparent: run.traceparent,
        parentEventId: `${run.runId}--run_started`,
        runningForSeconds: Math.round(runningForMs / 1000),
        expectedDurationSeconds: spec.expectedDurationSeconds,
        missing,
        message:
          `phase ${phaseDoc.phase} RUNNING for ${Math.round(runningForMs / 1000)} s (expected ` +
          `${spec.expectedDurationSeconds} s); waiting for ${missing.join(', ') || 'nothing: its gate is due'}`,
      });
      return true;
    });
    if (!claimed) continue;
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
      phase: phaseDoc.phase,
      processor: null,
      message: `run ${run.runId}: phase ${phaseDoc.phase} stalled; re-drove ${missing.join(', ') || 'nothing'}`,
    });
  }
  return stalled;
}

/**
 * control-dlq holds what the dead-letter recorder could not record: every message there is an alert
 * (deduplicated like the others). Firestore may be what is down, and the notifier records its alerts
 * there: if it cannot, the ALERT line is logged here all the same.
 */
async function checkControlDlq(deps: ReconcilerDeps): Promise<HeldMessages | null> {
  if (!deps.controlDlq) return null;
  let held: HeldMessages;
  try {
    held = await deps.controlDlq();
  } catch (error) {
    deps.logger.warn(
      { err: error instanceof Error ? error.message : String(error) },
      'could not peek control-dlq; checked again next tick',
    );
    return null;
  }
  if (held.count === 0) return held;
  const alert = {
    kind: 'control_dlq' as const,
    dedupKey: 'control_dlq',
    runId: null,
    phase: null,
    processor: null,
    message: describeHeld(held),
  };
  try {
    if (!deps.notifier) throw new Error('no notifier');
    await deps.notifier(alert);
  } catch (error) {
    deps.logger.error(
      {
        alert: alert.kind,
        dedupKey: alert.dedupKey,
        err: error instanceof Error ? error.message : String(error),
      },
      `ALERT ${alert.kind}: ${alert.message}`,
    );
  }
  return held;
}

/** One reconcile tick: heal run statuses, re-send the outbox, detect and re-drive stalls, check control-dlq. */
export async function reconcile(deps: ReconcilerDeps): Promise<ReconcileResult> {
  const now = deps.clock.now();
  const result = {
    outboxResent: await resendOutbox(deps, now),
    healed: await healRuns(deps, now),
    stalled: await detectStalls(deps, now),
    alertsResent: (await deps.notifier?.resendPending?.()) ?? 0,
    controlDlq: await checkControlDlq(deps),
    superseded: await sweepSuperseded(deps.store, now.toISOString()),
    // A lost notice or publish of a dependency is picked up here.
    dependencies: deps.definition.dependencies.mode === 'trigger' ? await pumpDependencies(deps) : null,
  };
  deps.logger.info({ ...result }, 'reconcile tick');
  return result;
}
