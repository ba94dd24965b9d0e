import type { CompletenessRules, ExpectedDoc } from '../../shared/index.ts';
import type { PhaseIdOf, ProcessorNameOf } from '../../shared/index.ts';
import type { referenceDefinitionInput } from './definition.ts';
import { DOMAIN, rawPayloadId, seriesStateId, teamFormId, teamGameId } from './collections.ts';
import { SchedulePayloadSchema } from './source/payloads.ts';

/**
 * What every game date of the reference pipeline must hold: per game, the game, both teams'
 * stats and analytics, the series state and both teams' form; per date, the raw payloads and
 * the features and predictions of the next game date's games.
 */
type Phase = PhaseIdOf<typeof referenceDefinitionInput>;
type ProcessorName = ProcessorNameOf<typeof referenceDefinitionInput>;

export function referenceCompleteness(
  gameDates: (from: string, to: string) => Promise<string[]>,
): CompletenessRules<Phase, ProcessorName> {
  return {
    partitions: gameDates,
    async expectedDocs(gameDate, store) {
      const raw = await store.get(DOMAIN.rawPayloads, rawPayloadId(gameDate, 'schedule'));
      if (!raw || typeof raw.payload !== 'string') return null;
      const schedule = SchedulePayloadSchema.parse(JSON.parse(raw.payload));
      const docs: ExpectedDoc<Phase, ProcessorName>[] = [
        {
          phase: 'scrape',
          processor: 'scrape-schedule',
          collection: DOMAIN.rawPayloads,
          id: rawPayloadId(gameDate, 'schedule'),
          unit: null,
        },
        {
          phase: 'scrape',
          processor: 'scrape-boxscores',
          collection: DOMAIN.rawPayloads,
          id: rawPayloadId(gameDate, 'boxscores'),
          unit: null,
        },
      ];
      for (const g of schedule.games) {
        docs.push({
          phase: 'raw',
          processor: 'normalize-games',
          collection: DOMAIN.games,
          id: g.gameId,
          unit: g.gameId,
        });
        for (const team of [g.homeTeam, g.awayTeam]) {
          docs.push({
            phase: 'raw',
            processor: 'normalize-team-stats',
            collection: DOMAIN.teamGameStats,
            id: teamGameId(g.gameId, team),
            unit: g.gameId,
          });
          docs.push({
            phase: 'analytics',
            processor: 'team-ratings',
            collection: DOMAIN.teamGameAnalytics,
            id: teamGameId(g.gameId, team),
            unit: g.gameId,
          });
          docs.push({
            phase: 'precompute',
            processor: 'team-form',
            collection: DOMAIN.teamForm,
            id: teamFormId(g.season, team, gameDate),
            unit: g.gameId,
          });
        }
        if (g.gameId.startsWith('004'))
          docs.push({
            phase: 'analytics',
            processor: 'series-state',
            collection: DOMAIN.seriesState,
            id: seriesStateId(g.gameId.slice(0, 9), gameDate),
            unit: g.gameId,
          });
      }
      for (const next of schedule.nextGames) {
        docs.push({
          phase: 'precompute',
          processor: 'game-features',
          collection: DOMAIN.gameFeatures,
          id: next.gameId,
          unit: null,
        });
        docs.push({
          phase: 'predict',
          processor: 'predict-games',
          collection: DOMAIN.predictions,
          id: next.gameId,
          unit: null,
        });
      }
      return docs;
    },
  };
}
