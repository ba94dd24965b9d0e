import type { ScheduledGame } from '../source/payloads.ts';
import { teamFormAt } from './form.ts';
import type { SeasonContext } from './season-context.ts';

export interface GameFeatures {
  gameId: string;
  /** The date the game is played. */
  gameDate: string;
  /** The date whose data the features describe (the run that computed them). */
  sourceGameDate: string;
  season: string;
  homeTeam: string;
  awayTeam: string;
  homeNetRatingLast5: number;
  awayNetRatingLast5: number;
  homeGamesConsidered: number;
  awayGamesConsidered: number;
  /** Wins in this series so far (0 when the series has not started or outside the playoffs). */
  homeSeriesWins: number;
  awaySeriesWins: number;
  netRatingDiff: number;
}

/** Features of one game of the next game date, from the season up to `sourceGameDate`. Pure. */
export function gameFeatures(
  game: ScheduledGame,
  sourceGameDate: string,
  context: Pick<SeasonContext, 'analytics' | 'games'>,
): GameFeatures {
  const home = teamFormAt(game.season, game.homeTeam, sourceGameDate, context.analytics);
  const away = teamFormAt(game.season, game.awayTeam, sourceGameDate, context.analytics);
  const seriesId = game.gameId.startsWith('004') ? game.gameId.slice(0, 9) : null;
  const seriesGames = seriesId ? context.games.filter((g) => g.seriesId === seriesId) : [];
  const winsOf = (team: string) => seriesGames.filter((g) => g.winner === team).length;
  return {
    gameId: game.gameId,
    gameDate: game.gameDate,
    sourceGameDate,
    season: game.season,
    homeTeam: game.homeTeam,
    awayTeam: game.awayTeam,
    homeNetRatingLast5: home.netRatingLast5,
    awayNetRatingLast5: away.netRatingLast5,
    homeGamesConsidered: home.gamesConsidered,
    awayGamesConsidered: away.gamesConsidered,
    homeSeriesWins: winsOf(game.homeTeam),
    awaySeriesWins: winsOf(game.awayTeam),
    netRatingDiff: Math.round((home.netRatingLast5 - away.netRatingLast5) * 100) / 100,
  };
}
