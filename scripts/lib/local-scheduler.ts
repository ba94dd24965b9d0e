import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { TOPICS } from '../../shared/messages/messages.ts';
import type { Publisher } from '../../shared/ports/publisher.ts';

export interface ScheduledJob {
  name: string;
  topic: string;
  everySeconds: number;
  message: () => unknown;
}

/** The definition's schedules as local jobs (Cloud Scheduler's job of publishing to a topic, on a shorter period). */
export function localJobs(definition: LoadedDefinition, clock: () => Date = () => new Date()): ScheduledJob[] {
  const s = definition.schedules;
  const jobs: ScheduledJob[] = [
    { name: 'auto-retry', topic: TOPICS.autoRetryTicks, everySeconds: s.autoRetry.localEverySeconds, message: () => ({ source: 'local-scheduler', at: clock().toISOString() }) },
    { name: 'reconcile', topic: TOPICS.reconcileTicks, everySeconds: s.reconcile.localEverySeconds, message: () => ({}) },
    // The daily run is for yesterday's games, as in production.
    { name: 'daily-run', topic: TOPICS.runRequests, everySeconds: s.dailyRun.localEverySeconds, message: () => ({ gameDate: new Date(clock().getTime() - 86_400_000).toISOString().slice(0, 10), triggerSource: 'scheduled', requestedBy: 'local scheduler' }) },
  ];
  const completeness = s.completeness;
  if (completeness) jobs.push({ name: 'completeness', topic: TOPICS.reconcileTicks, everySeconds: completeness.localEverySeconds, message: () => ({ completenessDays: completeness.days }) });
  return jobs;
}

/** Publishes each job's message every period until stopped. A failed publish is reported, and the next period tries again. */
export function startLocalScheduler(jobs: readonly ScheduledJob[], publisher: Publisher, onError: (job: string, error: unknown) => void): { stop(): void } {
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
