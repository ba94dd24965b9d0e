import type { Clock } from '../ports/clock.ts';
import type { DocumentStore } from '../ports/store.ts';
import type { Alert, Notifier } from '../recovery/notifier.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { dayOf, type DailyHealth } from './health-daily.ts';
import { healthSummary, type HealthSummary } from './health.ts';

const DAY_MS = 86_400_000;

/** What a daily summary says of its day: the day's figures, and the queue as it stands when sent. */
export interface DailySummaryDetails {
  day: string;
  runsByStatus: Record<string, number>;
  failures: Record<string, number>;
  deadLetters: number;
  phaseSeconds: DailyHealth['phaseSeconds'];
  queueDepthMax: number | null;
  oldestOpenAgeSecondsMax: number | null;
  controlDlqMax: number | null;
  /** Now, when it is sent (not of the day): what still needs a person. */
  openQueueEntries: number;
  needsManualFix: number;
  oldestOpenEntry: HealthSummary['oldestOpenEntry'];
}

export const dailySummaryKey = (day: string): string => `daily_summary:${day}`;

const counted = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .sort(([, a], [, b]) => b - a)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');

const age = (seconds: number): string =>
  seconds >= 3600 ? `${Math.round(seconds / 360) / 10} h` : `${Math.round(seconds / 60)} min`;

/** One paragraph a person reads in a channel or a log line. */
export function describeSummary(d: DailySummaryDetails): string {
  const failed = Object.values(d.failures).reduce((a, b) => a + b, 0);
  const phases = Object.entries(d.phaseSeconds)
    .map(([phase, s]) => `${phase} ${s.p50.toFixed(1)}/${s.p95.toFixed(1)} s`)
    .join(', ');
  return [
    `${d.day}: runs ${counted(d.runsByStatus) || 'none'}`,
    `${failed} failed attempts${failed > 0 ? ` (${counted(d.failures)})` : ''}, ${d.deadLetters} dead letters`,
    `phase p50/p95 ${phases || '-'}`,
    `queue depth max ${d.queueDepthMax ?? '-'}, oldest open max ` +
      `${d.oldestOpenAgeSecondsMax === null ? '-' : age(d.oldestOpenAgeSecondsMax)}, control-dlq max ${d.controlDlqMax ?? '-'}`,
    `now: ${d.openQueueEntries} open entries, ${d.needsManualFix} NEEDS MANUAL FIX` +
      (d.oldestOpenEntry
        ? `, oldest ${d.oldestOpenEntry.requestId} since ${d.oldestOpenEntry.firstFailedAt}`
        : ''),
  ].join('; ');
}

/**
 * The summary of the UTC day that ended, once: the first reconcile tick of a day sends yesterday's
 * through the alerts' route (the webhook, a log line always). Once per day by its alert document
 * (`alerts/daily_summary:<day>`): a tick that finds it sends nothing, and two ticks at once are one
 * send (the notifier's transaction); a POST that fails is re-sent as any alert's is.
 */
export async function sendDailySummary(deps: {
  store: DocumentStore;
  clock: Clock;
  notifier?: Notifier;
}): Promise<string | null> {
  if (!deps.notifier) return null;
  const today = dayOf(deps.clock.now().toISOString());
  const day = dayOf(new Date(Date.parse(today) - DAY_MS).toISOString());
  if (await deps.store.get(COLLECTIONS.alerts, dailySummaryKey(day))) return null;
  const midnight = new Date(Date.parse(today));
  const health = await healthSummary(deps.store, { now: midnight, days: 1, until: midnight });
  const ofDay = health.daily.find((d) => d.day === day);
  const details: DailySummaryDetails = {
    day,
    runsByStatus: health.runsByStatus,
    failures: ofDay?.failures ?? {},
    deadLetters: ofDay?.deadLetters ?? 0,
    phaseSeconds: ofDay?.phaseSeconds ?? {},
    queueDepthMax: ofDay?.queueDepthMax ?? null,
    oldestOpenAgeSecondsMax: ofDay?.oldestOpenAgeSecondsMax ?? null,
    controlDlqMax: ofDay?.controlDlqMax ?? null,
    openQueueEntries: health.openQueueEntries,
    needsManualFix: health.needsManualFix,
    oldestOpenEntry: health.oldestOpenEntry,
  };
  const alert: Alert = {
    kind: 'daily_summary',
    dedupKey: dailySummaryKey(day),
    runId: null,
    partition: null,
    phase: null,
    processor: null,
    message: describeSummary(details),
    details: { ...details },
  };
  await deps.notifier(alert);
  return day;
}
