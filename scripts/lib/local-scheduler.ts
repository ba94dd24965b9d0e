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
export function localJobs(definition: LoadedDefinition): ScheduledJob[] {
  return [
    { name: 'auto-retry', topic: TOPICS.autoRetryTicks, everySeconds: definition.schedules.autoRetry.localEverySeconds, message: () => ({ source: 'local-scheduler', at: new Date().toISOString() }) },
  ];
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
