import { describeError } from '../errors/describe.ts';
import { pumpDependencies } from '../orchestration/dependencies/pump-dependencies.ts';
import type { LoadedDefinition } from '../definition/load.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { Publisher } from '../ports/publisher.ts';
import type { DocumentStore } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { parseOutboxEntries, unsentOutboxQuery } from '../orchestration/outbox.ts';
import { isPaused } from '../orchestration/pause-state.ts';
import { releaseHeldRunRequests } from './pause.ts';
import type { Notifier } from '../recovery/notifier.ts';
import type { HeldMessages, PeekHeld } from '../ports/held-messages.ts';
import { sweepRecentlySuperseded } from '../recovery/supersede.ts';
import { checkControlDlq } from './control-dlq-check.ts';
import { healRuns, RECONCILE_WINDOW_MS } from './run-healing.ts';
import { detectStalls } from './stall-redrive.ts';
import { sweepExpired } from './expiry-sweep.ts';
import type { TtlCollection } from '../store/retention.ts';
import { recordHealthSample } from './health-daily.ts';
import { sendDailySummary } from './daily-summary.ts';
import { countOpenEntries, oldestOpenEntriesQuery } from './open-entries.ts';

export interface ReconcilerDeps {
  definition: LoadedDefinition;
  store: DocumentStore;
  publisher: Publisher;
  clock: Clock;
  logger: Logger;
  notifier?: Notifier;
  /** Peeks control-dlq (functions-entry wires the Pub/Sub one); absent, it is not checked. */
  controlDlq?: PeekHeld;
  /**
   * Delete expired bookkeeping documents, as Firestore's TTL policies do in production: for a store
   * that has none (the emulator, PHASEGATE_TTL_SWEEP). Absent or false, production pays nothing for it.
   */
  sweepExpired?: boolean;
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
  /** Run requests a pause held, released after a resume that did not finish releasing them. */
  released: number;
  /** Expired bookkeeping documents deleted, per collection (null: no sweep here, TTL policies delete them). */
  expired: Partial<Record<TtlCollection, number>> | null;
  /** Whether this tick raised a gauge of the day's health (health-daily.ts). */
  healthSampled: boolean;
  /** The day whose summary this tick sent (daily-summary.ts), or null. */
  dailySummary: string | null;
}

const windowStart = (now: Date): string => new Date(now.getTime() - RECONCILE_WINDOW_MS).toISOString();

/** An outbox entry pending this long was not sent by its own delivery: the reconciler sends it. */
export const OUTBOX_GRACE_MS = 30_000;

async function resendOutbox(deps: ReconcilerDeps, now: Date): Promise<number> {
  // Paused: pending triggers are held (operations/pause.ts); the resume releases them.
  if (await isPaused(deps.store)) return 0;
  const cutoff = new Date(now.getTime() - OUTBOX_GRACE_MS).toISOString();
  const pending = parseOutboxEntries(await deps.store.query(COLLECTIONS.outbox, unsentOutboxQuery(cutoff)));
  for (const entry of pending) {
    await deps.publisher.publish(entry.topic, entry.message, entry.attributes);
    await deps.store.set(
      COLLECTIONS.outbox,
      entry.id,
      { status: 'sent', sentAt: now.toISOString(), sentBy: 'reconciler' },
      { merge: true },
    );
  }
  return pending.length;
}

/** The day's gauges, sampled each tick: queue depth, the oldest open entry, control-dlq (when peeked). */
async function sampleHealth(
  deps: ReconcilerDeps,
  now: Date,
  controlDlq: HeldMessages | null,
): Promise<boolean> {
  const [queueOpen, oldest] = await Promise.all([
    countOpenEntries(deps.store),
    deps.store.query(COLLECTIONS.queue, oldestOpenEntriesQuery(1)),
  ]);
  const oldestOpenAt = oldest[0]?.data.firstFailedAt;
  return recordHealthSample(deps.store, now, {
    queueOpen,
    oldestOpenAt: typeof oldestOpenAt === 'string' ? oldestOpenAt : null,
    controlDlq: controlDlq?.count ?? null,
  });
}

/**
 * One reconcile tick: re-send the outbox, heal run statuses, detect and re-drive stalls, re-send
 * alerts, check control-dlq, sweep superseded entries, delete expired bookkeeping where the store has
 * no TTL of its own, and pump partition dependencies. Each step
 * runs whatever another one met (an outage of one collection stops none of the others); a failed
 * step still fails the tick, after the others ran, so it is redelivered (the ack contract).
 */
export async function reconcile(deps: ReconcilerDeps): Promise<ReconcileResult> {
  const now = deps.clock.now();
  const failed: string[] = [];
  const step = async <T>(name: string, run: () => Promise<T>, otherwise: T): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      const message = describeError(error).message;
      failed.push(`${name}: ${message}`);
      deps.logger.error({ step: name, err: message }, 'reconcile step failed; the other steps still run');
      return otherwise;
    }
  };
  const result = {
    outboxResent: await step('outbox', () => resendOutbox(deps, now), 0),
    healed: await step('heal runs', () => healRuns(deps, now), []),
    stalled: await step('stalls', () => detectStalls(deps, now), []),
    alertsResent: await step('alerts', async () => (await deps.notifier?.resendPending?.()) ?? 0, 0),
    controlDlq: await step('control-dlq', () => checkControlDlq(deps), null),
    superseded: await step(
      'superseded',
      () => sweepRecentlySuperseded(deps.store, now.toISOString(), windowStart(now)),
      [],
    ),
    // A resume that died half-way is finished here (the triggers by the outbox step above).
    released: await step('held', () => releaseHeldRunRequests(deps), 0),
    expired: deps.sweepExpired ? await step('expired', () => sweepExpired(deps.store, now), {}) : null,
    healthSampled: false,
    dailySummary: null as string | null,
    // A lost notice or publish of a dependency is picked up here.
    dependencies:
      deps.definition.dependencies.mode === 'trigger'
        ? await step('dependencies', () => pumpDependencies(deps), null)
        : null,
  };
  result.healthSampled = await step('health sample', () => sampleHealth(deps, now, result.controlDlq), false);
  // Yesterday's summary on the first tick of a UTC day (after its last sample, above).
  result.dailySummary = await step('daily summary', () => sendDailySummary(deps), null);
  deps.logger.info({ ...result }, 'reconcile tick');
  if (failed.length > 0)
    throw new Error(`reconcile tick: ${failed.length} step(s) failed: ${failed.join('; ')}`);
  return result;
}
