import type { TeamGameAnalytics } from '../analytics/ratings.ts';

/** How many of a team's most recent playoff games its form averages. */
export const FORM_WINDOW = 5;

export interface TeamForm {
  season: string;
  team: string;
  /** The date the form is "at the end of". */
  gameDate: string;
  gamesConsidered: number;
  netRatingLast5: number;
  offRatingLast5: number;
  defRatingLast5: number;
  winsLast5: number;
  lastGameDate: string | null;
}

const mean = (xs: number[]): number =>
  xs.length === 0 ? 0 : Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 100) / 100;

/** Form of `team` at the end of `gameDate`: its last FORM_WINDOW games of the season on or before it. Pure. */
export function teamFormAt(
  season: string,
  team: string,
  gameDate: string,
  analytics: readonly TeamGameAnalytics[],
): TeamForm {
  const recent = analytics
    .filter((a) => a.team === team && a.season === season && a.gameDate <= gameDate)
    .sort((x, y) => y.gameDate.localeCompare(x.gameDate) || y.gameId.localeCompare(x.gameId))
    .slice(0, FORM_WINDOW);
  return {
    season,
    team,
    gameDate,
    gamesConsidered: recent.length,
    netRatingLast5: mean(recent.map((r) => r.netRating)),
    offRatingLast5: mean(recent.map((r) => r.offRating)),
    defRatingLast5: mean(recent.map((r) => r.defRating)),
    winsLast5: recent.filter((r) => r.win).length,
    lastGameDate: recent[0]?.gameDate ?? null,
  };
}

/** Games of the season through the date whose analytics are not there yet (both teams needed). */
export function missingAnalytics(
  seasonGames: readonly { gameId: string; gameDate: string }[],
  analytics: readonly Pick<TeamGameAnalytics, 'gameId'>[],
): { gameId: string; gameDate: string }[] {
  const perGame = new Map<string, number>();
  for (const a of analytics) perGame.set(a.gameId, (perGame.get(a.gameId) ?? 0) + 1);
  return seasonGames.filter((g) => (perGame.get(g.gameId) ?? 0) < 2);
}
