import { loadDefinition, output, processor, standardPhaseSettings } from '../../shared/index.ts';
import type { PipelineDefinitionInput } from '../../shared/index.ts';

/** Every phase of the reference pipeline is delivered, run and watched for stalls with these settings. */
const phaseSettings = standardPhaseSettings({
  timeoutSeconds: 90,
  memoryMb: 512,
  expectedDurationSeconds: 120,
});

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
        processor(
          'scrape-schedule',
          'schedule of the date and of the next game date, and the season so far',
          [output('raw_payloads', 'gameDate')],
        ),
        processor('scrape-boxscores', 'team box scores of the date', [output('raw_payloads', 'gameDate')]),
      ],
      ...phaseSettings,
    },
    {
      id: 'raw',
      description:
        'normalise and validate into games and team_game_stats; deduplicate; reject bad rows with a reason',
      processors: [
        processor('normalize-games', 'one document per game', [output('games', 'gameDate')]),
        processor('normalize-team-stats', 'one document per team per game, and the rows rejected', [
          output('team_game_stats', 'gameDate'),
          output('rejected_rows', 'gameDate'),
        ]),
      ],
      ...phaseSettings,
    },
    {
      id: 'analytics',
      description: 'possessions, ratings and pace per team-game; series state after the date',
      processors: [
        processor('team-ratings', 'possessions, offensive/defensive/net rating, pace', [
          output('team_game_analytics', 'gameDate'),
        ]),
        processor('series-state', 'wins per team in each series that played on the date', [
          output('series_state', 'gameDate'),
        ]),
      ],
      ...phaseSettings,
    },
    {
      id: 'precompute',
      description: 'rolling team form at the end of the date and features for the next game date',
      processors: [
        processor('team-form', 'last-5 form of every team that played on the date or plays next', [
          output('team_form', 'gameDate'),
        ]),
        processor('game-features', 'features of every game of the next game date', [
          output('game_features', 'sourceGameDate'),
        ]),
      ],
      ...phaseSettings,
    },
    {
      id: 'predict',
      description:
        'home-win probabilities for the next game date; grading of earlier predictions for this date',
      processors: [
        processor('predict-games', 'one prediction per game of the next game date', [
          output('predictions', 'sourceGameDate'),
        ]),
        processor('grade-predictions', 'grades the predictions made for this date', [
          output('predictions', 'gameDate'),
        ]),
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
