import { z } from 'zod';
import type { PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import type { Logger } from '../ports/logger.ts';
import type { Clock } from '../ports/clock.ts';
import { checkCompleteness, type CompletenessDeps } from './completeness.ts';
import { reconcile, type ReconcilerDeps } from './reconciler.ts';
import type { PartitionScheme } from '../definition/partition.ts';

/** A reconcile tick may also ask for the completeness check (the completeness scheduler job does). */
export const ReconcileTickSchema = z.object({
  /** Check the last N partitions before the one the tick falls in (in `timeZone`). */
  completenessPartitions: z.number().int().positive().max(366).optional(),
  timeZone: z.string().min(1).optional(),
  completeness: z.object({ from: z.string(), to: z.string() }).optional(),
});

function rangeOf(
  tick: z.infer<typeof ReconcileTickSchema>,
  scheme: PartitionScheme,
  clock: Clock,
): { from: string; to: string } | null {
  if (tick.completeness) return tick.completeness;
  if (!tick.completenessPartitions) return null;
  const current = scheme.containing(clock.now(), tick.timeZone ?? 'UTC');
  return { from: scheme.shift(current, -tick.completenessPartitions), to: scheme.shift(current, -1) };
}

/** `reconcile-ticks`: reconcile, and when asked, check completeness and enqueue what is missing. */
export async function handleReconcileTick(
  deps: ReconcilerDeps & { completeness?: Omit<CompletenessDeps, 'definition' | 'store' | 'clock'> },
  event: PubSubCloudEvent,
  logger: Logger,
): Promise<void> {
  let tick: z.infer<typeof ReconcileTickSchema> = {};
  try {
    const parsed = ReconcileTickSchema.safeParse(
      JSON.parse(Buffer.from(event.data?.message?.data ?? '', 'base64').toString('utf8') || '{}'),
    );
    if (parsed.success) tick = parsed.data;
    else
      logger.warn(
        { issues: parsed.error.issues.map((i) => i.message) },
        'reconcile tick body not understood; reconciling only',
      );
  } catch {
    logger.warn({}, 'reconcile tick body is not JSON; reconciling only');
  }
  await reconcile(deps);
  const range = rangeOf(tick, deps.definition.scheme, deps.clock);
  if (range && deps.completeness) {
    const report = await checkCompleteness(
      { definition: deps.definition, store: deps.store, clock: deps.clock, rules: deps.completeness.rules },
      { ...range, enqueue: true },
    );
    logger.info(
      {
        ...range,
        perPhase: report.perPhase,
        missing: report.missing.length,
        missingPartitions: report.missingPartitions.length,
        enqueued: report.enqueued.length,
        deferred: report.deferred.length,
      },
      'completeness check',
    );
  }
}
