import type { Game } from '../raw/normalize.ts';

export interface SeriesState {
  seriesId: string;
  season: string;
  round: number;
  gameDate: string;
  gamesPlayed: number;
  wins: Record<string, number>;
  leader: string | null;
  /** `BOS leads 2-1`, `tied 1-1`, `BOS won 4-2` (best of seven). */
  status: string;
}

/** Game numbers 1..n that are missing from `games` (a series is played in order). */
export function missingGameNumbers(
  games: readonly Pick<Game, 'gameNumber'>[],
  throughGameNumber: number,
): number[] {
  const present = new Set(games.map((g) => g.gameNumber));
  return Array.from({ length: throughGameNumber }, (_, i) => i + 1).filter((n) => !present.has(n));
}

/** Series state after `gameDate`, from every game of the series played by then. Pure. */
export function seriesStateAfter(seriesGames: readonly Game[], gameDate: string): SeriesState {
  const played = seriesGames.filter((g) => g.gameDate <= gameDate);
  const first = played[0];
  if (!first || first.seriesId === null || first.round === null)
    throw new Error('seriesStateAfter needs at least one playoff game');
  const wins: Record<string, number> = { [first.homeTeam]: 0, [first.awayTeam]: 0 };
  for (const g of played) wins[g.winner] = (wins[g.winner] ?? 0) + 1;
  const [[a, aw], [, bw]] = Object.entries(wins).sort(
    ([x, xw], [y, yw]) => yw - xw || x.localeCompare(y),
  ) as [[string, number], [string, number]];
  const leader = aw === bw ? null : a;
  const status = aw === 4 ? `${a} won ${aw}-${bw}` : leader ? `${a} leads ${aw}-${bw}` : `tied ${aw}-${bw}`;
  return {
    seriesId: first.seriesId,
    season: first.season,
    round: first.round,
    gameDate,
    gamesPlayed: played.length,
    wins,
    leader,
    status,
  };
}
