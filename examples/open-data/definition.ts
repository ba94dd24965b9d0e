import {
  loadDefinition,
  output,
  processor,
  standardPhaseSettings,
  type PipelineDefinitionInput,
} from '../../shared/index.ts';

/** Every stage is delivered, run and watched for stalls with the same settings. */
const stageSettings = standardPhaseSettings({
  timeoutSeconds: 60,
  memoryMb: 256,
  expectedDurationSeconds: 60,
});

/**
 * An example shaped unlike the reference pipeline: a city's open bicycle-counter data, one ISO
 * week per run, in three stages: download the week's file, process it into daily counts (checked
 * value by value), publish a page for the week.
 */
export const openDataDefinitionInput = {
  name: 'open-data-counters',
  partition: 'weekly',
  phases: [
    {
      id: 'download',
      description: "fetch the week's counter file from the open-data portal and keep it with its sha256",
      processors: [
        processor('fetch-week', 'the CSV of the week, as published', [output('counter_files', 'week')]),
      ],
      ...stageSettings,
    },
    {
      id: 'process',
      description: 'one document per counter and day, every value checked',
      processors: [
        processor('daily-counts', 'bicycles counted per counter per day', [output('daily_counts', 'week')]),
      ],
      ...stageSettings,
    },
    {
      id: 'publish',
      description: "the week's page: totals per counter and the busiest day",
      processors: [processor('week-page', 'one page per week', [output('week_pages', 'week')])],
      ...stageSettings,
    },
  ],
  schedules: {
    // Mondays, for the week that ended the day before.
    run: { cron: '0 6 * * 1', timeZone: 'Europe/Paris', localEverySeconds: 3600 },
    autoRetry: { cron: '*/15 * * * *', timeZone: 'UTC', localEverySeconds: 30 },
    reconcile: { cron: '* * * * *', timeZone: 'UTC', localEverySeconds: 15 },
  },
  queue: {
    maxRetries: 3,
    notReadyRetrySeconds: 3600,
    notReadyDeadlineSeconds: 7 * 86_400,
    retryBackoffSeconds: 60,
    maxRetryBackoffSeconds: 3600,
    retryingStaleSeconds: 900,
  },
} as const satisfies PipelineDefinitionInput;

export const openDataDefinition = loadDefinition(openDataDefinitionInput);
