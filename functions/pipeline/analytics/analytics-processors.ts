import { PermanentError, waitForEarlierPartitions } from '../../../shared/index.ts';
import type { Processor } from '../../../shared/index.ts';
import { DOMAIN, seriesStateId, teamGameId } from '../collections.ts';
import type { Game, TeamGameStats } from '../raw/normalize.ts';
import { teamGameRatings } from './ratings.ts';
import { missingGameNumbers, seriesStateAfter } from './series.ts';
import { readSchedule } from '../source/stored-payloads.ts';

export const teamRatingsProcessor: Processor = {
  async run(ctx) {
    const date = ctx.request.partition;
    const docs = await ctx.store.query(DOMAIN.teamGameStats, {
      filters: [{ field: 'gameDate', op: '==', value: date }],
    });
    const stats = docs.map((d) => d.data as unknown as TeamGameStats);
    const byGame = new Map<string, TeamGameStats[]>();
    for (const s of stats) byGame.set(s.gameId, [...(byGame.get(s.gameId) ?? []), s]);
    const rows = [...byGame].flatMap(([gameId, pair]) => {
      const [a, b] = pair;
      if (pair.length !== 2 || !a || !b)
        throw new PermanentError(`team_game_stats of game ${gameId} has ${pair.length} team(s), needs 2`);
      return [teamGameRatings(a, b), teamGameRatings(b, a)];
    });
    await ctx.write(
      DOMAIN.teamGameAnalytics,
      rows.map((r) => ({ id: teamGameId(r.gameId, r.team), data: { ...r } })),
    );
    return { metrics: { teamGames: rows.length } };
  },
};

export const seriesStateProcessor: Processor = {
  async run(ctx) {
    const date = ctx.request.partition;
    const today = (
      await ctx.store.query(DOMAIN.games, { filters: [{ field: 'gameDate', op: '==', value: date }] })
    ).map((d) => d.data as unknown as Game);
    const states = [];
    for (const game of today) {
      if (game.seriesId === null || game.gameNumber === null) continue;
      const series = (
        await ctx.store.query(DOMAIN.games, {
          filters: [{ field: 'seriesId', op: '==', value: game.seriesId }],
        })
      )
        .map((d) => d.data as unknown as Game)
        .filter((g) => g.gameDate <= date);
      const missing = missingGameNumbers(series, game.gameNumber);
      if (missing.length > 0) {
        // Order-independent backfills: wait for the earlier dates instead of counting a partial series.
        // The dates of the missing games, from the season's schedule as scraped.
        const wanted = new Set(missing.map((n) => `${game.seriesId}${n}`));
        const schedule = await readSchedule(ctx.store, date);
        const dates = [
          ...new Set(schedule.seasonGames.filter((g) => wanted.has(g.gameId)).map((g) => g.gameDate)),
        ].sort();
        throw waitForEarlierPartitions(
          dates,
          `series ${game.seriesId} needs game(s) ${missing.join(', ')} processed before game ${game.gameNumber} on ${date}` +
            (dates.length
              ? `, played on ${dates.join(', ')}; fill them with: phasegate backfill --from ${dates[0]} --to ${dates.at(-1)}`
              : ''),
        );
      }
      states.push(seriesStateAfter(series, date));
    }
    await ctx.write(
      DOMAIN.seriesState,
      states.map((s) => ({ id: seriesStateId(s.seriesId, s.gameDate), data: { ...s } })),
    );
    return { metrics: { series: states.length } };
  },
};
