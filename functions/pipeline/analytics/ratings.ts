import type { TeamGameStats } from '../raw/normalize.ts';

export interface TeamGameAnalytics {
  gameId: string;
  gameDate: string;
  season: string;
  team: string;
  opponent: string;
  win: boolean;
  /** Game possessions: the mean of both teams' estimates FGA + 0.44*FTA - OREB + TOV. */
  possessions: number;
  /** Points scored per 100 possessions. */
  offRating: number;
  /** Points allowed per 100 possessions. */
  defRating: number;
  netRating: number;
  /** Possessions per 48 minutes. */
  pace: number;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

export function possessionEstimate(s: Pick<TeamGameStats, 'fga' | 'fta' | 'oreb' | 'tov'>): number {
  return s.fga + 0.44 * s.fta - s.oreb + s.tov;
}

/** Ratings of `team` in a game against `opponent`. Pure. */
export function teamGameRatings(team: TeamGameStats, opponent: TeamGameStats): TeamGameAnalytics {
  const possessions = (possessionEstimate(team) + possessionEstimate(opponent)) / 2;
  const offRating = (100 * team.pts) / possessions;
  const defRating = (100 * opponent.pts) / possessions;
  return {
    gameId: team.gameId,
    gameDate: team.gameDate,
    season: team.season,
    team: team.team,
    opponent: opponent.team,
    win: team.win,
    possessions: round2(possessions),
    offRating: round2(offRating),
    defRating: round2(defRating),
    netRating: round2(offRating - defRating),
    pace: round2((48 * possessions) / team.minutes),
  };
}
