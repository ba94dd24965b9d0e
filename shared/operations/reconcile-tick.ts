import { z } from 'zod';
import type { PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import type { Logger } from '../ports/logger.ts';
import type { Clock } from '../ports/clock.ts';
import { checkCompleteness, type CompletenessDeps } from './completeness.ts';
import { reconcile, type ReconcilerDeps } from './reconciler.ts';

/** A reconcile tick may also ask for the completeness check (the daily scheduler job does). */
export const ReconcileTickSchema = z.object({
  completenessDays: z.number().int().positive().max(366).optional(),
  completeness: z.object({ from: z.string(), to: z.string() }).optional(),
});

function rangeOf(tick: z.infer<typeof ReconcileTickSchema>, clock: Clock): { from: string; to: string } | null {
  if (tick.completeness) return tick.completeness;
  if (!tick.completenessDays) return null;
  const to = clock.now();
  const from = new Date(to.getTime() - tick.completenessDays * 86_400_000);
  return { from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10) };
}

/** `reconcile-ticks`: reconcile, and when asked, check completeness and enqueue what is missing. */
export async function handleReconcileTick(deps: ReconcilerDeps & { completeness?: Omit<CompletenessDeps, 'definition' | 'store' | 'clock'> }, event: PubSubCloudEvent, logger: Logger): Promise<void> {
  let tick: z.infer<typeof ReconcileTickSchema> = {};
  try {
    const parsed = ReconcileTickSchema.safeParse(JSON.parse(Buffer.from(event.data?.message?.data ?? '', 'base64').toString('utf8') || '{}'));
    if (parsed.success) tick = parsed.data;
    else logger.warn({ issues: parsed.error.issues.map((i) => i.message) }, 'reconcile tick body not understood; reconciling only');
  } catch {
    logger.warn({}, 'reconcile tick body is not JSON; reconciling only');
  }
  await reconcile(deps);
  const range = rangeOf(tick, deps.clock);
  if (range && deps.completeness) {
    const report = await checkCompleteness({ definition: deps.definition, store: deps.store, clock: deps.clock, rules: deps.completeness.rules }, { ...range, enqueue: true });
    logger.info({ ...range, perPhase: report.perPhase, missing: report.missing.length, missingDates: report.missingDates.length, enqueued: report.enqueued.length, deferred: report.deferred.length }, 'completeness check');
  }
}
