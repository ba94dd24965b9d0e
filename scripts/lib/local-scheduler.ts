import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { planSchedules } from '../../infra/plan.ts';
import type { Publisher } from '../../shared/ports/publisher.ts';

export interface ScheduledJob {
  name: string;
  topic: string;
  everySeconds: number;
  message: () => unknown;
}

/**
 * The Cloud Scheduler jobs of the plan, with the same topics and bodies, on the definition's
 * shorter local periods (so a demo shows them working).
 */
export function localJobs(definition: LoadedDefinition): ScheduledJob[] {
  const s = definition.schedules;
  const periods: Record<string, number | undefined> = {
    'phasegate-run': s.run.localEverySeconds,
    'phasegate-auto-retry': s.autoRetry.localEverySeconds,
    'phasegate-reconcile': s.reconcile.localEverySeconds,
    'phasegate-completeness': s.completeness?.localEverySeconds,
  };
  return planSchedules(definition).map((job) => {
    const everySeconds = periods[job.name];
    if (everySeconds === undefined) throw new Error(`no local period for scheduler job ${job.name}`);
    return {
      name: job.name.replace(/^phasegate-/, ''),
      topic: job.topic,
      everySeconds,
      message: () => job.body,
    };
  });
}

/** Publishes each job's message every period until stopped. A failed publish is reported, and the next period tries again. */
export function startLocalScheduler(
  jobs: readonly ScheduledJob[],
  publisher: Publisher,
  onError: (job: string, error: unknown) => void,
): { stop(): void } {
  const timers = jobs.map((job) =>
    setInterval(() => {
      publisher.publish(job.topic, job.message()).catch((error: unknown) => onError(job.name, error));
    }, job.everySeconds * 1000),
  );
  return {
    stop() {
      for (const t of timers) clearInterval(t);
    },
  };
}
