import { z } from 'zod';
import type { DocumentStore } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';

/**
 * A `phasegate backfill` as far as it got, written by the command as each partition ends
 * (`backfills/{from}_{to}`): what its progress bar shows and the dashboard draws, from one document.
 * The counts are of this invocation: a resumed backfill counts what earlier ones finished as skipped.
 */
export const BackfillProgressSchema = z.object({
  backfillId: z.string(),
  from: z.string(),
  to: z.string(),
  total: z.number().int().min(0),
  succeeded: z.number().int().min(0),
  /** Already SUCCESS before this invocation reached them. */
  skipped: z.number().int().min(0),
  failed: z.number().int().min(0),
  /** Later partitions of a chain whose earlier partition failed: not started. */
  blocked: z.number().int().min(0),
  status: z.enum(['running', 'finished', 'interrupted']),
  startedAt: z.string(),
  updatedAt: z.string(),
  /** The partition that ended last, and how. */
  last: z.string().nullable(),
  /** The first failures, for the page (the command prints them all). */
  failures: z.array(z.object({ partition: z.string(), status: z.string(), runId: z.string().nullable() })),
});
export type BackfillProgress = z.infer<typeof BackfillProgressSchema>;

export const backfillId = (from: string, to: string): string => `${from}_${to}`;

/**
 * A running backfill with no update for this long: its command may have died (run it again to
 * resume). Longer than one partition may take without a write (60 s to find its run, 600 s to watch it).
 */
export const BACKFILL_QUIET_MS = 15 * 60_000;

export interface BackfillFigures {
  /** Partitions ended: succeeded, already done, or failed. */
  done: number;
  total: number;
  failed: number;
  blocked: number;
  /** 0..100. */
  percent: number;
  /** At the rate the partitions run in this invocation (skipped ones cost nothing): null until one ran. */
  etaSeconds: number | null;
  /** Running, but silent for BACKFILL_QUIET_MS. */
  quiet: boolean;
}

/** The one reading of a progress both the CLI's bar and the dashboard show. */
export function backfillFigures(p: BackfillProgress, now: Date): BackfillFigures {
  const done = p.succeeded + p.skipped + p.failed;
  const ran = p.succeeded + p.failed;
  const remaining = Math.max(0, p.total - done - p.blocked);
  const elapsedMs = Math.max(0, now.getTime() - Date.parse(p.startedAt));
  const etaSeconds =
    p.status !== 'running' || remaining === 0
      ? 0
      : ran === 0
        ? null
        : Math.round((remaining * elapsedMs) / ran / 1000);
  return {
    done,
    total: p.total,
    failed: p.failed,
    blocked: p.blocked,
    percent: p.total === 0 ? 100 : Math.floor((100 * done) / p.total),
    etaSeconds,
    quiet: p.status === 'running' && now.getTime() - Date.parse(p.updatedAt) > BACKFILL_QUIET_MS,
  };
}

/** `1 h 05 min`, `4 min 10 s`, `12 s`; `?` before anything ran. */
export function formatEta(seconds: number | null): string {
  if (seconds === null) return '?';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  return m > 0 ? `${m} min ${String(s).padStart(2, '0')} s` : `${s} s`;
}

/** The newest backfills by their last update (one single-field ordered query). */
export async function recentBackfills(store: DocumentStore, limit = 5): Promise<BackfillProgress[]> {
  const docs = await store.query(COLLECTIONS.backfills, {
    orderBy: { field: 'updatedAt', direction: 'desc' },
    limit,
  });
  return docs.flatMap((d) => {
    const parsed = BackfillProgressSchema.safeParse(d.data);
    return parsed.success ? [parsed.data] : [];
  });
}
