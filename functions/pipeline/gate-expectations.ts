import type { GateExpectation, GateExpectations } from '../../shared/orchestration/gate.ts';
import { assertNever } from '../../shared/lib/assert-never.ts';
import type { PhaseIdOf } from '../../shared/definition/schema.ts';
import { DOMAIN } from './collections.ts';
import type { referenceDefinitionInput } from './definition.ts';
import { readSchedule } from './source/stored-payloads.ts';

type PhaseId = PhaseIdOf<typeof referenceDefinitionInput>;

/**
 * What each phase must have written for a date, derived from the date's schedule (as
 * scraped), never a constant: a date with 4 games needs 4 games and 8 team rows.
 */
export const referenceExpectations: GateExpectations = async ({ phase, gameDate, processors, store }) => {
  const id = phase.id as PhaseId;
  if (id === 'scrape') return [{ collection: DOMAIN.rawPayloads, dateField: 'gameDate', min: processors.length }];
  const schedule = await readSchedule(store, gameDate);
  const games = schedule.games.length;
  const want = (collection: string, min: number, dateField = 'gameDate'): GateExpectation => ({ collection, dateField, min });
  switch (id) {
    case 'raw':
      return [want(DOMAIN.games, games), want(DOMAIN.teamGameStats, 2 * games), want(DOMAIN.rejectedRows, 0)];
    case 'analytics': {
      const series = new Set(schedule.games.filter((g) => g.gameId.startsWith('004')).map((g) => g.gameId.slice(0, 9)));
      return [want(DOMAIN.teamGameAnalytics, 2 * games), want(DOMAIN.seriesState, series.size)];
    }
    case 'precompute': {
      const teams = new Set([...schedule.games, ...schedule.nextGames].flatMap((g) => [g.homeTeam, g.awayTeam]));
      return [want(DOMAIN.teamForm, schedule.season ? teams.size : 0), want(DOMAIN.gameFeatures, schedule.nextGames.length, 'sourceGameDate')];
    }
    case 'predict': {
      // Every prediction made earlier for this date's games must now be graded.
      const made = await store.getMany(DOMAIN.predictions, schedule.games.map((g) => g.gameId));
      return [want(DOMAIN.predictions, schedule.nextGames.length, 'sourceGameDate'), want(DOMAIN.predictions, made.filter(Boolean).length, 'gameDate')];
    }
    default:
      return assertNever(id);
  }
};
