import { loadDefinition, type PipelineDefinitionInput } from '../../shared/index.ts';

/** Every stage is delivered, run and watched for stalls with the same settings. */
const stageSettings = {
  subscription: {
    ackDeadlineSeconds: 90,
    minBackoffSeconds: 5,
    maxBackoffSeconds: 60,
    maxDeliveryAttempts: 5,
  },
  function: { timeoutSeconds: 60, memoryMb: 256 },
  expectedDurationSeconds: 60,
} as const;

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
        {
          name: 'fetch-week',
          description: 'the CSV of the week, as published',
          outputs: [{ collection: 'counter_files', partitionField: 'week' }],
        },
      ],
      ...stageSettings,
    },
    {
      id: 'process',
      description: 'one document per counter and day, every value checked',
      processors: [
        {
          name: 'daily-counts',
          description: 'bicycles counted per counter per day',
          outputs: [{ collection: 'daily_counts', partitionField: 'week' }],
        },
      ],
      ...stageSettings,
    },
    {
      id: 'publish',
      description: "the week's page: totals per counter and the busiest day",
      processors: [
        {
          name: 'week-page',
          description: 'one page per week',
          outputs: [{ collection: 'week_pages', partitionField: 'week' }],
        },
      ],
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
