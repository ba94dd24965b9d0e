import type { Processor } from '../../../shared/index.ts';
import { DOMAIN, teamFormId } from '../collections.ts';
import { teamFormAt } from './form.ts';
import { loadSeasonContext } from './season-context.ts';
import { gameFeatures } from './features.ts';

export const teamFormProcessor: Processor = {
  async run(ctx) {
    const date = ctx.request.partition;
    const { schedule, analytics } = await loadSeasonContext(ctx.store, date);
    const season = schedule.season;
    if (!season) return { metrics: { teams: 0 } };
    const teams = [
      ...new Set([...schedule.games, ...schedule.nextGames].flatMap((g) => [g.homeTeam, g.awayTeam])),
    ].sort();
    const forms = teams.map((team) => teamFormAt(season, team, date, analytics));
    await ctx.write(
      DOMAIN.teamForm,
      forms.map((f) => ({ id: teamFormId(f.season, f.team, f.gameDate), data: { ...f } })),
    );
    return { metrics: { teams: forms.length } };
  },
};

export const gameFeaturesProcessor: Processor = {
  async run(ctx) {
    const date = ctx.request.partition;
    const context = await loadSeasonContext(ctx.store, date);
    const features = context.schedule.nextGames.map((game) => gameFeatures(game, date, context));
    await ctx.write(
      DOMAIN.gameFeatures,
      features.map((f) => ({ id: f.gameId, data: { ...f } })),
    );
    return { metrics: { games: features.length } };
  },
};
