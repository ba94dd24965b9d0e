import { defineExpectations, type ExpectationContext } from '../../shared/index.ts';
import { DOMAIN } from './collections.ts';
import { referenceDefinitionInput } from './definition.ts';
import { readSchedule } from './source/stored-payloads.ts';

/** The scraped schedule of the date, read once per gate. */
const scheduleOf = (ctx: ExpectationContext) =>
  ctx.once('schedule', () => readSchedule(ctx.store, ctx.partition));
const games = async (ctx: ExpectationContext) => (await scheduleOf(ctx)).games.length;
const nextGames = async (ctx: ExpectationContext) => (await scheduleOf(ctx)).nextGames.length;

/**
 * What each phase must have written for a date, derived from the date's schedule (as
 * scraped), never a constant: a date with 4 games needs 4 games and 8 team rows. Typed by the
 * definition: an output left out, or one the definition does not have, does not compile.
 */
export const referenceExpectations = defineExpectations(referenceDefinitionInput, {
  scrape: { raw_payloads: { gameDate: ({ processors }) => processors.length } },
  raw: {
    games: { gameDate: games },
    team_game_stats: { gameDate: async (ctx) => 2 * (await games(ctx)) },
    rejected_rows: { gameDate: 0 },
  },
  analytics: {
    team_game_analytics: { gameDate: async (ctx) => 2 * (await games(ctx)) },
    series_state: {
      gameDate: async (ctx) =>
        new Set(
          (await scheduleOf(ctx)).games
            .filter((g) => g.gameId.startsWith('004'))
            .map((g) => g.gameId.slice(0, 9)),
        ).size,
    },
  },
  precompute: {
    team_form: {
      gameDate: async (ctx) => {
        const schedule = await scheduleOf(ctx);
        return schedule.season
          ? new Set([...schedule.games, ...schedule.nextGames].flatMap((g) => [g.homeTeam, g.awayTeam])).size
          : 0;
      },
    },
    game_features: { sourceGameDate: nextGames },
  },
  predict: {
    predictions: {
      sourceGameDate: nextGames,
      // Every prediction made earlier for this date's games must now be graded.
      gameDate: async (ctx) => {
        const made = await ctx.store.getMany(
          DOMAIN.predictions,
          (await scheduleOf(ctx)).games.map((g) => g.gameId),
        );
        return made.filter(Boolean).length;
      },
    },
  },
});
