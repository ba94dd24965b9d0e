import type { Processor } from '../../../shared/index.ts';
import { DOMAIN, teamGameId } from '../collections.ts';
import { readBoxscores } from '../source/stored-payloads.ts';
import { normalizeBoxscores, type NormalizedDate } from './normalize.ts';

function metricsOf(n: NormalizedDate) {
  return {
    rawRows: n.rawRows,
    accepted: n.teamStats.length,
    rejected: n.rejected.length,
    duplicates: n.duplicates,
    games: n.games.length,
  };
}

export const normalizeGamesProcessor: Processor = {
  async run(ctx) {
    const normalized = normalizeBoxscores(
      ctx.request.partition,
      await readBoxscores(ctx.store, ctx.request.partition),
    );
    await ctx.write(
      DOMAIN.games,
      normalized.games.map((g) => ({ id: g.gameId, data: { ...g } })),
    );
    return { metrics: metricsOf(normalized) };
  },
};

export const normalizeTeamStatsProcessor: Processor = {
  async run(ctx) {
    const normalized = normalizeBoxscores(
      ctx.request.partition,
      await readBoxscores(ctx.store, ctx.request.partition),
    );
    await ctx.write(
      DOMAIN.teamGameStats,
      normalized.teamStats.map((s) => ({ id: teamGameId(s.gameId, s.team), data: { ...s } })),
    );
    await ctx.write(
      DOMAIN.rejectedRows,
      normalized.rejected.map(({ id, ...rest }) => ({ id, data: rest })),
    );
    if (normalized.rejected.length > 0)
      ctx.logger.warn(
        {
          rejected: normalized.rejected
            .map((r) => `${r.gameId ?? '?'}/${r.team ?? '?'}: ${r.reason}`)
            .slice(0, 10),
        },
        'rows rejected',
      );
    return { metrics: metricsOf(normalized) };
  },
};
