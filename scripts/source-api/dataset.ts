import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';

/** One CSV row exactly as the provider has it: strings, duplicates and all. */
export type RawRow = Record<string, string>;

export interface ScheduledGame {
  gameId: string;
  gameDate: string;
  season: string;
  homeTeam: string;
  awayTeam: string;
}

/** The data a source API serves: raw rows per date, a schedule per date, the calendar. */
export interface Dataset {
  headers: string[];
  dates: string[];
  rowsOn(date: string): RawRow[];
  scheduleOn(date: string): ScheduledGame[];
  seasonOf(date: string): string | undefined;
  /** Next date with games in the same season, or null at the end of the season. */
  nextGameDate(after: string): string | null;
  /** Every game of `season` on or before `through`, in date order. */
  seasonGamesThrough(season: string, through: string): { gameId: string; gameDate: string }[];
}

export const DEFAULT_CSV = fileURLToPath(new URL('./data/playoff_team_games_2010_2024.csv', import.meta.url));

export function datasetFromRows(headers: string[], rows: RawRow[]): Dataset {
  const byDate = new Map<string, RawRow[]>();
  for (const row of rows) {
    const date = (row.GAME_DATE ?? '').slice(0, 10);
    const list = byDate.get(date) ?? [];
    list.push(row);
    byDate.set(date, list);
  }
  const dates = [...byDate.keys()].sort();
  const schedules = new Map<string, ScheduledGame[]>();
  for (const [date, dateRows] of byDate) {
    const games = new Map<string, ScheduledGame>();
    for (const row of dateRows) {
      const gameId = row.GAME_ID ?? '';
      const matchup = row.MATCHUP ?? '';
      const home = / vs\. /.exec(matchup);
      if (!home) continue;
      const [team, opponent] = matchup.split(' vs. ');
      if (!team || !opponent || games.has(gameId)) continue;
      games.set(gameId, {
        gameId,
        gameDate: date,
        season: row.SEASON_YEAR ?? '',
        homeTeam: team,
        awayTeam: opponent,
      });
    }
    schedules.set(
      date,
      [...games.values()].sort((a, b) => a.gameId.localeCompare(b.gameId)),
    );
  }
  const seasonByDate = new Map(dates.map((d) => [d, byDate.get(d)?.[0]?.SEASON_YEAR ?? '']));
  return {
    headers,
    dates,
    rowsOn: (date) => byDate.get(date) ?? [],
    scheduleOn: (date) => schedules.get(date) ?? [],
    seasonOf: (date) => seasonByDate.get(date),
    nextGameDate(after) {
      const season = seasonByDate.get(after);
      const next = dates.find((d) => d > after);
      if (!next) return null;
      // Predictions stay inside a season; an unknown `after` date takes the next date there is.
      return season === undefined || seasonByDate.get(next) === season ? next : null;
    },
    seasonGamesThrough(season, through) {
      return dates
        .filter((d) => d <= through && seasonByDate.get(d) === season)
        .flatMap((d) => (schedules.get(d) ?? []).map((g) => ({ gameId: g.gameId, gameDate: d })));
    },
  };
}

export function loadCsvDataset(path: string = DEFAULT_CSV): Dataset {
  const text = readFileSync(path, 'utf8');
  const records = parse<RawRow>(text, { columns: true, skip_empty_lines: true });
  const headers = text.slice(0, text.indexOf('\n')).trim().split(',');
  return datasetFromRows(headers, records);
}
