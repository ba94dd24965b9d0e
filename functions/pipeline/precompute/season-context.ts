import { waitForEarlierPartitions } from '../../../shared/index.ts';
import type { ReadStore } from '../../../shared/index.ts';
import type { TeamGameAnalytics } from '../analytics/ratings.ts';
import { DOMAIN } from '../collections.ts';
import type { Game } from '../raw/normalize.ts';
import type { SchedulePayload } from '../source/payloads.ts';
import { readSchedule } from '../source/stored-payloads.ts';
import { missingAnalytics } from './form.ts';

export interface SeasonContext {
  schedule: SchedulePayload;
  analytics: TeamGameAnalytics[];
  games: Game[];
}

/**
 * Everything of the season up to the date, after checking it is all there: the form at a
 * date must not depend on the order dates were processed in. A gap is "not ready": the
 * entry waits for the earlier dates instead of computing from a partial season.
 */
export async function loadSeasonContext(store: ReadStore, gameDate: string): Promise<SeasonContext> {
  const schedule = await readSchedule(store, gameDate);
  if (!schedule.season) return { schedule, analytics: [], games: [] };
  const season = schedule.season;
  const analytics = (
    await store.query(DOMAIN.teamGameAnalytics, { filters: [{ field: 'season', op: '==', value: season }] })
  )
    .map((d) => d.data as unknown as TeamGameAnalytics)
    .filter((a) => a.gameDate <= gameDate);
  const missing = missingAnalytics(schedule.seasonGames, analytics);
  if (missing.length > 0) {
    const dates = [...new Set(missing.map((m) => m.gameDate))].sort();
    throw waitForEarlierPartitions(
      dates,
      `${missing.length} game(s) of ${season} through ${gameDate} not processed yet, on ` +
        `${dates.slice(0, 5).join(', ')}${dates.length > 5 ? ` and ${dates.length - 5} more date(s)` : ''}; ` +
        `fill them with: phasegate backfill --from ${dates[0]} --to ${dates.at(-1)}`,
    );
  }
  const games = (await store.query(DOMAIN.games, { filters: [{ field: 'season', op: '==', value: season }] }))
    .map((d) => d.data as unknown as Game)
    .filter((g) => g.gameDate <= gameDate);
  return { schedule, analytics, games };
}
