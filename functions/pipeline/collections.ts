/** The reference pipeline's domain collections and their document id schemes (README: data contract). */
export const DOMAIN = {
  /** `{gameDate}_{kind}`: kind is `schedule` or `boxscores`. */
  rawPayloads: 'raw_payloads',
  /** `{gameId}` */
  games: 'games',
  /** `{gameId}_{team}` */
  teamGameStats: 'team_game_stats',
  /** `{gameDate}_{rowHash}` */
  rejectedRows: 'rejected_rows',
  /** `{gameId}_{team}` */
  teamGameAnalytics: 'team_game_analytics',
  /** `{seriesId}_{gameDate}` */
  seriesState: 'series_state',
  /** `{season}_{team}_{gameDate}` */
  teamForm: 'team_form',
  /** `{gameId}` (a game of the next game date) */
  gameFeatures: 'game_features',
  /** `{gameId}` */
  predictions: 'predictions',
} as const;

export const rawPayloadId = (gameDate: string, kind: 'schedule' | 'boxscores'): string =>
  `${gameDate}_${kind}`;
export const teamGameId = (gameId: string, team: string): string => `${gameId}_${team}`;
export const seriesStateId = (seriesId: string, gameDate: string): string => `${seriesId}_${gameDate}`;
export const teamFormId = (season: string, team: string, gameDate: string): string =>
  `${season}_${team}_${gameDate}`;
