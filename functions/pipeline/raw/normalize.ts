import { createHash } from 'node:crypto';
import type { BoxscoresResponse } from '../source/payloads.ts';
import { TeamRowSchema, type TeamRow } from './row-schema.ts';

export interface RejectedRow {
  /** `{gameDate}_{hash of the raw values}`: the same bad row is one document however often it is seen. */
  id: string;
  gameDate: string;
  gameId: string | null;
  team: string | null;
  reason: string;
  values: Record<string, string>;
}

export interface TeamGameStats {
  gameId: string;
  gameDate: string;
  season: string;
  team: string;
  teamId: string;
  teamName: string;
  opponent: string;
  home: boolean;
  win: boolean;
  minutes: number;
  fgm: number;
  fga: number;
  fg3m: number;
  fg3a: number;
  ftm: number;
  fta: number;
  oreb: number;
  dreb: number;
  reb: number;
  ast: number;
  tov: number;
  stl: number;
  blk: number;
  pf: number;
  pts: number;
  plusMinus: number;
  /** AVAILABLE_FLAG normalised: 1, 0, 2 as sent; null when the feed left it empty. */
  availableFlag: number | null;
}

export interface Game {
  gameId: string;
  gameDate: string;
  season: string;
  homeTeam: string;
  awayTeam: string;
  homePoints: number;
  awayPoints: number;
  winner: string;
  overtimePeriods: number;
  /** Playoff game ids are `004YY00RSG`: series id is the first nine digits. Null outside the playoffs. */
  seriesId: string | null;
  round: number | null;
  gameNumber: number | null;
}

export interface NormalizedDate {
  rawRows: number;
  duplicates: number;
  rejected: RejectedRow[];
  teamStats: TeamGameStats[];
  games: Game[];
}

const rowHash = (values: readonly string[]): string =>
  createHash('sha256').update(values.join('\u0001')).digest('hex').slice(0, 16);

function toStats(r: TeamRow, gameDate: string): TeamGameStats {
  const [, , opponent = ''] = r.MATCHUP.split(' ');
  return {
    gameId: r.GAME_ID,
    gameDate,
    season: r.SEASON_YEAR,
    team: r.TEAM_ABBREVIATION,
    teamId: r.TEAM_ID,
    teamName: r.TEAM_NAME,
    opponent,
    home: r.MATCHUP.includes(' vs. '),
    win: r.WL === 'W',
    minutes: r.MIN,
    fgm: r.FGM,
    fga: r.FGA,
    fg3m: r.FG3M,
    fg3a: r.FG3A,
    ftm: r.FTM,
    fta: r.FTA,
    oreb: r.OREB,
    dreb: r.DREB,
    reb: r.REB,
    ast: r.AST,
    tov: r.TOV,
    stl: r.STL,
    blk: r.BLK,
    pf: r.PF,
    pts: r.PTS,
    plusMinus: r.PLUS_MINUS,
    availableFlag: r.AVAILABLE_FLAG,
  };
}

/** Why two rows cannot form one game, or null when they can. */
function gameProblem(a: TeamGameStats, b: TeamGameStats): string | null {
  if (a.home === b.home) return `both rows are ${a.home ? 'home' : 'away'}`;
  if (a.opponent !== b.team || b.opponent !== a.team)
    return `matchups disagree (${a.team} vs ${a.opponent}, ${b.team} vs ${b.opponent})`;
  if (a.win === b.win) return `both teams ${a.win ? 'won' : 'lost'}`;
  if (a.pts > b.pts !== a.win)
    return `the winner did not score more (${a.team} ${a.pts}, ${b.team} ${b.pts})`;
  if (a.minutes !== b.minutes) return `minutes disagree (${a.minutes} vs ${b.minutes})`;
  return null;
}

function toGame(home: TeamGameStats, away: TeamGameStats): Game {
  const playoff = home.gameId.startsWith('004');
  return {
    gameId: home.gameId,
    gameDate: home.gameDate,
    season: home.season,
    homeTeam: home.team,
    awayTeam: away.team,
    homePoints: home.pts,
    awayPoints: away.pts,
    winner: home.win ? home.team : away.team,
    overtimePeriods: (home.minutes - 48) / 5,
    seriesId: playoff ? home.gameId.slice(0, 9) : null,
    round: playoff ? Number(home.gameId[7]) : null,
    gameNumber: playoff ? Number(home.gameId[9]) : null,
  };
}

/**
 * Normalises one date's box scores. Rows repeating a team's game with the same figures count once; a row that fails
 * validation, or a game whose two rows disagree, is rejected with its reason while the
 * rest of the date goes on. Pure: same payload, same result.
 */
export function normalizeBoxscores(gameDate: string, payload: BoxscoresResponse): NormalizedDate {
  const set = payload.resultSets.find((s) => s.name === 'TeamGameLogs') ?? payload.resultSets[0];
  const headers = set?.headers ?? [];
  const rowSet = set?.rowSet ?? [];
  const rejected: RejectedRow[] = [];
  const seen = new Map<string, { hash: string; stats: TeamGameStats }>();
  const conflicted = new Set<string>();
  let duplicates = 0;
  const reject = (values: readonly string[], reason: string) => {
    const record = Object.fromEntries(headers.map((h, i) => [h, values[i] ?? '']));
    rejected.push({
      id: `${gameDate}_${rowHash(values)}`,
      gameDate,
      gameId: record.GAME_ID || null,
      team: record.TEAM_ABBREVIATION || null,
      reason,
      values: record,
    });
  };
  for (const values of rowSet) {
    if (values.length !== headers.length) {
      reject(values, `row has ${values.length} values, the header has ${headers.length}`);
      continue;
    }
    const parsed = TeamRowSchema.safeParse(Object.fromEntries(headers.map((h, i) => [h, values[i]])));
    if (!parsed.success) {
      reject(
        values,
        parsed.error.issues
          .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
          .join('; '),
      );
      continue;
    }
    if (parsed.data.GAME_DATE.slice(0, 10) !== gameDate) {
      reject(values, `GAME_DATE ${parsed.data.GAME_DATE.slice(0, 10)} is not the requested date ${gameDate}`);
      continue;
    }
    const key = `${parsed.data.GAME_ID}_${parsed.data.TEAM_ABBREVIATION}`;
    // Duplicates are judged on the per-game figures: the *_RANK columns are season ranks and
    // differ between copies of the same row (the feed recomputes them).
    const stats = toStats(parsed.data, gameDate);
    const hash = rowHash([JSON.stringify(stats)]);
    const earlier = seen.get(key);
    if (earlier) {
      if (earlier.hash === hash) duplicates += 1;
      else {
        conflicted.add(key);
        reject(values, `conflicting duplicate: another row for ${key} has different values`);
      }
      continue;
    }
    seen.set(key, { hash, stats });
  }
  const byGame = new Map<string, TeamGameStats[]>();
  for (const [key, { stats }] of seen) {
    if (conflicted.has(key)) continue;
    byGame.set(stats.gameId, [...(byGame.get(stats.gameId) ?? []), stats]);
  }
  const teamStats: TeamGameStats[] = [];
  const games: Game[] = [];
  for (const [gameId, rows] of [...byGame].sort(([a], [b]) => a.localeCompare(b))) {
    const [a, b] = rows;
    const problem =
      rows.length !== 2 || !a || !b
        ? `game ${gameId} has ${rows.length} valid team row(s), needs 2`
        : gameProblem(a, b);
    if (problem || !a || !b) {
      for (const r of rows)
        rejected.push({
          id: `${gameDate}_${gameId}_${r.team}`,
          gameDate,
          gameId,
          team: r.team,
          reason: problem ?? 'incomplete game',
          values: {},
        });
      continue;
    }
    const [home, away] = a.home ? [a, b] : [b, a];
    teamStats.push(home, away);
    games.push(toGame(home, away));
  }
  return { rawRows: rowSet.length, duplicates, rejected, teamStats, games };
}
