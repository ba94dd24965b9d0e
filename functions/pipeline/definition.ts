import { loadDefinition } from '../../shared/index.ts';
import type { PipelineDefinitionInput } from '../../shared/index.ts';

/** Every phase of the reference pipeline is delivered, run and watched for stalls with these settings. */
const phaseSettings = {
  subscription: {
    ackDeadlineSeconds: 120,
    minBackoffSeconds: 5,
    maxBackoffSeconds: 60,
    maxDeliveryAttempts: 5,
  },
  function: { timeoutSeconds: 90, memoryMb: 512 },
  expectedDurationSeconds: 120,
} as const;

/**
 * The reference pipeline: NBA playoff box scores, one game date per run.
 * Every other part (functions, infra, validation, dashboard) derives from this object.
 */
export const referenceDefinitionInput = {
  name: 'nba-playoffs',
  partition: 'daily',
  // A date needs its season's earlier dates (series state, form): the orchestrator runs them itself.
  dependencies: { mode: 'trigger', concurrency: 2 },
  phases: [
    {
      id: 'scrape',
      description: 'fetch the date from the source API and keep the raw payloads with a content hash',
      processors: [
        {
          name: 'scrape-schedule',
          description: 'schedule of the date and of the next game date, and the season so far',
          outputs: [{ collection: 'raw_payloads', partitionField: 'gameDate' }],
        },
        {
          name: 'scrape-boxscores',
          description: 'team box scores of the date',
          outputs: [{ collection: 'raw_payloads', partitionField: 'gameDate' }],
        },
      ],
      ...phaseSettings,
    },
    {
      id: 'raw',
      description:
        'normalise and validate into games and team_game_stats; deduplicate; reject bad rows with a reason',
      processors: [
        {
          name: 'normalize-games',
          description: 'one document per game',
          outputs: [{ collection: 'games', partitionField: 'gameDate' }],
        },
        {
          name: 'normalize-team-stats',
          description: 'one document per team per game, and the rows rejected',
          outputs: [
            { collection: 'team_game_stats', partitionField: 'gameDate' },
            { collection: 'rejected_rows', partitionField: 'gameDate' },
          ],
        },
      ],
      ...phaseSettings,
    },
    {
      id: 'analytics',
      description: 'possessions, ratings and pace per team-game; series state after the date',
      processors: [
        {
          name: 'team-ratings',
          description: 'possessions, offensive/defensive/net rating, pace',
          outputs: [{ collection: 'team_game_analytics', partitionField: 'gameDate' }],
        },
        {
          name: 'series-state',
          description: 'wins per team in each series that played on the date',
          outputs: [{ collection: 'series_state', partitionField: 'gameDate' }],
        },
      ],
      ...phaseSettings,
    },
    {
      id: 'precompute',
      description: 'rolling team form at the end of the date and features for the next game date',
      processors: [
        {
          name: 'team-form',
          description: 'last-5 form of every team that played on the date or plays next',
          outputs: [{ collection: 'team_form', partitionField: 'gameDate' }],
        },
        {
          name: 'game-features',
          description: 'features of every game of the next game date',
          outputs: [{ collection: 'game_features', partitionField: 'sourceGameDate' }],
        },
      ],
      ...phaseSettings,
    },
    {
      id: 'predict',
      description:
        'home-win probabilities for the next game date; grading of earlier predictions for this date',
      processors: [
        {
          name: 'predict-games',
          description: 'one prediction per game of the next game date',
          outputs: [{ collection: 'predictions', partitionField: 'sourceGameDate' }],
        },
        {
          name: 'grade-predictions',
          description: 'grades the predictions made for this date',
          outputs: [{ collection: 'predictions', partitionField: 'gameDate' }],
        },
      ],
      ...phaseSettings,
    },
  ],
  schedules: {
    run: { cron: '0 10 * * *', timeZone: 'America/New_York', localEverySeconds: 3600 },
    autoRetry: { cron: '*/15 * * * *', timeZone: 'UTC', localEverySeconds: 30 },
    reconcile: { cron: '* * * * *', timeZone: 'UTC', localEverySeconds: 15 },
    completeness: { cron: '30 6 * * *', timeZone: 'UTC', localEverySeconds: 600, partitions: 7 },
  },
  queue: {
    maxRetries: 3,
    notReadyRetrySeconds: 900,
    notReadyDeadlineSeconds: 86_400,
    retryBackoffSeconds: 60,
    maxRetryBackoffSeconds: 21_600,
    retryingStaleSeconds: 1800,
  },
} as const satisfies PipelineDefinitionInput;

export const referenceDefinition = loadDefinition(referenceDefinitionInput);
