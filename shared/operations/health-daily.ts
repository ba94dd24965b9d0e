import type { DocumentStore, Filter } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';

/**
 * The health of each day: failures per processor, dead letters and phase durations come from the
 * day's events and phase decisions; queue depth, the age of the oldest open entry and control-dlq's
 * depth are gauges no document keeps a history of, so each reconcile tick samples them into
 * `health_daily/{YYYY-MM-DD}` (UTC): the highest of the day, written only when one rises.
 */
export interface DailyHealth {
  day: string;
  failures: Record<string, number>;
  deadLetters: number;
  /** Seconds from a phase's trigger to its gate decision, per phase. */
  phaseSeconds: Record<string, { p50: number; p95: number; count: number }>;
  /** Highest sampled that day; null when no tick sampled it (before sampling began, or no reconciler). */
  queueDepthMax: number | null;
  oldestOpenAgeSecondsMax: number | null;
  controlDlqMax: number | null;
}

export interface HealthSample {
  queueOpen: number;
  oldestOpenAt: string | null;
  /** Null when control-dlq was not peeked (or the peek failed): not a zero. */
  controlDlq: number | null;
}

const GAUGES = ['queueDepthMax', 'oldestOpenAgeSecondsMax', 'controlDlqMax'] as const;
type Gauges = Record<(typeof GAUGES)[number], number | null>;

export const dayOf = (iso: string): string => iso.slice(0, 10);

/** Records a tick's sample into its day; true when it wrote (a gauge rose, or the day's first sample). */
export async function recordHealthSample(
  store: DocumentStore,
  now: Date,
  sample: HealthSample,
): Promise<boolean> {
  const day = dayOf(now.toISOString());
  const value: Gauges = {
    queueDepthMax: sample.queueOpen,
    oldestOpenAgeSecondsMax: sample.oldestOpenAt
      ? Math.max(0, Math.round((now.getTime() - Date.parse(sample.oldestOpenAt)) / 1000))
      : 0,
    controlDlqMax: sample.controlDlq,
  };
  return store.transaction(async (tx) => {
    const known = await tx.get(COLLECTIONS.healthDaily, day);
    const rises = GAUGES.filter((g) => {
      const next = value[g];
      const before = known?.[g];
      return next !== null && (typeof before !== 'number' || next > before);
    });
    if (known && rises.length === 0) return false;
    tx.set(
      COLLECTIONS.healthDaily,
      day,
      { day, ...Object.fromEntries(rises.map((g) => [g, value[g]])), sampledAt: now.toISOString() },
      { merge: true },
    );
    return true;
  });
}

/** The percentile `p` (0..1) of sorted values, nearest rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** The days from `since` to `now`, oldest first (UTC). */
export function daysBetween(since: Date, now: Date): string[] {
  const days: string[] = [];
  for (let t = Date.parse(dayOf(since.toISOString())); t <= now.getTime(); t += 86_400_000)
    days.push(dayOf(new Date(t).toISOString()));
  return days;
}

/**
 * Each day of the window from the window's events (already read by the summary), the phase
 * decisions started in it (single-field range on startedAt) and the sampled gauges (one getMany).
 */
export async function dailyHealth(
  store: DocumentStore,
  window: {
    since: Date;
    now: Date;
    events: readonly Record<string, unknown>[];
    /** The phase decisions' window (startedAt); from `since` when absent. */
    phaseFilters?: Filter[];
  },
): Promise<DailyHealth[]> {
  const days = daysBetween(window.since, window.now);
  const [phaseDocs, gauges] = await Promise.all([
    store.query(COLLECTIONS.runPhases, {
      filters: window.phaseFilters ?? [{ field: 'startedAt', op: '>=', value: window.since.toISOString() }],
    }),
    store.getMany(COLLECTIONS.healthDaily, days),
  ]);
  const byDay = new Map(
    days.map((day, i) => {
      const g = gauges[i];
      const gauge = (name: (typeof GAUGES)[number]) => (typeof g?.[name] === 'number' ? g[name] : null);
      const entry: DailyHealth & { durations: Map<string, number[]> } = {
        day,
        failures: {},
        deadLetters: 0,
        phaseSeconds: {},
        queueDepthMax: gauge('queueDepthMax'),
        oldestOpenAgeSecondsMax: gauge('oldestOpenAgeSecondsMax'),
        controlDlqMax: gauge('controlDlqMax'),
        durations: new Map(),
      };
      return [day, entry];
    }),
  );
  for (const e of window.events) {
    const entry = byDay.get(dayOf(String(e.at)));
    if (!entry) continue;
    if (e.type === 'processor_failed' && typeof e.processor === 'string')
      entry.failures[e.processor] = (entry.failures[e.processor] ?? 0) + 1;
    if (e.type === 'dead_lettered') entry.deadLetters += 1;
  }
  for (const { data } of phaseDocs) {
    if (typeof data.decidedAt !== 'string' || typeof data.startedAt !== 'string') continue;
    const entry = byDay.get(dayOf(data.startedAt));
    if (!entry) continue;
    const seconds = (Date.parse(data.decidedAt) - Date.parse(data.startedAt)) / 1000;
    const phase = String(data.phase);
    entry.durations.set(phase, [...(entry.durations.get(phase) ?? []), seconds]);
  }
  return [...byDay.values()].map(({ durations, ...day }) => ({
    ...day,
    phaseSeconds: Object.fromEntries(
      [...durations].map(([phase, values]) => {
        const sorted = [...values].sort((a, b) => a - b);
        return [phase, { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), count: sorted.length }];
      }),
    ),
  }));
}
