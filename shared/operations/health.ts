import type { DocumentStore, Filter } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { type QueueEntry, parseEntries } from '../recovery/queue-entry.ts';
import { countOpenEntries, oldestOpenEntriesQuery } from './open-entries.ts';
import { dailyHealth, type DailyHealth } from './health-daily.ts';

export interface HealthSummary {
  since: string;
  runsByStatus: Record<string, number>;
  processors: { processor: string; attempts: number; failures: number; failureRate: number }[];
  recovered: { automatically: number; byHand: number };
  openQueueEntries: number;
  needsManualFix: number;
  oldestOpenEntry: Pick<QueueEntry, 'requestId' | 'status' | 'firstFailedAt'> | null;
  /** Each day of the window, oldest first (UTC days): what the dashboard's health charts draw. */
  daily: DailyHealth[];
}

/**
 * The on-call summary of the last `days` days, from durable state only. It reads the runs created and
 * the events written within those days (single-field range queries), and of the queue two counts and
 * its oldest open entry: never the history before the window, nor the open entries one by one.
 */
export async function healthSummary(
  store: DocumentStore,
  options: { now: Date; days: number; until?: Date },
): Promise<HealthSummary> {
  const since = new Date(options.now.getTime() - options.days * 86_400_000).toISOString();
  // `until` bounds the window on the other side (one field: no composite index): a past day's summary is that day's.
  const window = (field: string): Filter[] => [
    { field, op: '>=', value: since },
    ...(options.until ? [{ field, op: '<' as const, value: options.until.toISOString() }] : []),
  ];
  const runs = await store.query(COLLECTIONS.runs, { filters: window('createdAt') });
  const runsByStatus: Record<string, number> = {};
  for (const r of runs) runsByStatus[String(r.data.status)] = (runsByStatus[String(r.data.status)] ?? 0) + 1;
  const events = (await store.query(COLLECTIONS.events, { filters: window('at') })).map((e) => e.data);
  const perProcessor = new Map<string, { attempts: number; failures: number }>();
  for (const e of events) {
    if (typeof e.processor !== 'string' || (e.type !== 'processor_started' && e.type !== 'processor_failed'))
      continue;
    const p = perProcessor.get(e.processor) ?? { attempts: 0, failures: 0 };
    if (e.type === 'processor_started') p.attempts += 1;
    else p.failures += 1;
    perProcessor.set(e.processor, p);
  }
  // A queue entry that succeeded: by hand when a person retried or resolved it, else automatically.
  const recovered = { automatically: 0, byHand: 0 };
  const succeeded = events.filter((e) => e.type === 'queue_succeeded' || e.type === 'queue_resolved');
  const manual = new Set(
    events
      .filter(
        (e) =>
          (e.type === 'retry_started' && String(e.message).startsWith('manual')) ||
          e.type === 'queue_resolved',
      )
      .map((e) => e.requestId),
  );
  for (const e of succeeded) {
    if (manual.has(e.requestId)) recovered.byHand += 1;
    else recovered.automatically += 1;
  }
  const [openQueueEntries, needsManualFix, oldestDocs, daily] = await Promise.all([
    countOpenEntries(store),
    store.countWhere(COLLECTIONS.queue, [{ field: 'status', op: '==', value: 'failed_permanent' }]),
    store.query(COLLECTIONS.queue, oldestOpenEntriesQuery(1)),
    dailyHealth(store, {
      since: new Date(since),
      now: options.now,
      events,
      phaseFilters: window('startedAt'),
    }),
  ]);
  const oldest = parseEntries(oldestDocs)[0];
  return {
    since,
    runsByStatus,
    processors: [...perProcessor]
      .map(([processor, p]) => ({
        processor,
        ...p,
        failureRate: p.attempts === 0 ? 0 : p.failures / p.attempts,
      }))
      .sort((a, b) => b.failureRate - a.failureRate || a.processor.localeCompare(b.processor)),
    recovered,
    openQueueEntries,
    needsManualFix,
    oldestOpenEntry: oldest
      ? { requestId: oldest.requestId, status: oldest.status, firstFailedAt: oldest.firstFailedAt }
      : null,
    daily,
  };
}
