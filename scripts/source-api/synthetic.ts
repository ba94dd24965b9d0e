import { seededRandom } from '../lib/seeded.ts';
import { datasetFromRows, type Dataset, type RawRow } from './dataset.ts';

const TEAMS = Array.from(
  { length: 30 },
  (_, i) => `T${String.fromCharCode(65 + Math.floor(i / 26))}${String.fromCharCode(65 + (i % 26))}`,
);

/**
 * A synthetic league season with the real schema: 30 teams, `games` games (1,230 by default,
 * a full regular season) over consecutive dates from `startDate`, about 8 games a date. Game ids
 * follow `002YYNNNNN` (regular season). Used by the scale benchmark.
 */
export function syntheticDataset(options: {
  seed: number;
  games?: number;
  startDate?: string;
  headers: string[];
}): Dataset {
  // The same seed gives the same league.
  const random = seededRandom(options.seed).next;
  const total = options.games ?? 1230;
  const start = new Date(`${options.startDate ?? '2030-10-20'}T00:00:00Z`);
  const seasonStart = start.getUTCFullYear();
  const season = `${seasonStart}-${String((seasonStart + 1) % 100).padStart(2, '0')}`;
  const strength = new Map(TEAMS.map((t) => [t, (random() - 0.5) * 12]));
  const rows: RawRow[] = [];
  for (let g = 0; g < total; g += 1) {
    const day = Math.floor(g / 8);
    const date = new Date(start.getTime() + day * 86_400_000).toISOString().slice(0, 10);
    const home = TEAMS[Math.floor(random() * TEAMS.length)]!;
    let away = TEAMS[Math.floor(random() * TEAMS.length)]!;
    while (away === home) away = TEAMS[Math.floor(random() * TEAMS.length)]!;
    const overtime = random() < 0.06 ? 1 : 0;
    const gameId = `002${String(seasonStart % 100).padStart(2, '0')}${String(g + 1).padStart(5, '0')}`;
    // Box-score lines whose points add up (PTS = 2*FGM + FG3M + FTM), so they pass validation.
    const line = (edge: number) => {
      const fga = 80 + Math.floor(random() * 15) + overtime * 8;
      const fgm = Math.round(fga * (0.42 + random() * 0.08 + edge / 200));
      const fg3a = 28 + Math.floor(random() * 14);
      const fg3m = Math.min(fgm, Math.round(fg3a * (0.3 + random() * 0.1)));
      const fta = 15 + Math.floor(random() * 15);
      const ftm = Math.round(fta * 0.78);
      return { fga, fgm, fg3a, fg3m, fta, ftm, pts: 2 * fgm + fg3m + ftm };
    };
    const homeLine = line(strength.get(home)! + 2);
    const awayLine = line(strength.get(away)!);
    if (homeLine.pts === awayLine.pts) {
      homeLine.fta += 1;
      homeLine.ftm += 1;
      homeLine.pts += 1;
    }
    for (const [team, opp, mine, theirs, isHome] of [
      [home, away, homeLine, awayLine, true],
      [away, home, awayLine, homeLine, false],
    ] as const) {
      const row: RawRow = Object.fromEntries(options.headers.map((h) => [h, '0']));
      const oreb = 8 + Math.floor(random() * 6);
      const dreb = 30 + Math.floor(random() * 8);
      Object.assign(row, {
        SEASON_YEAR: season,
        TEAM_ID: String(1610612700 + TEAMS.indexOf(team)),
        TEAM_ABBREVIATION: team,
        TEAM_NAME: `Team ${team}`,
        GAME_ID: gameId,
        GAME_DATE: `${date}T00:00:00`,
        MATCHUP: isHome ? `${team} vs. ${opp}` : `${team} @ ${opp}`,
        WL: mine.pts > theirs.pts ? 'W' : 'L',
        MIN: `${48 + overtime * 5}.0`,
        FGM: String(mine.fgm),
        FGA: String(mine.fga),
        FG3M: String(mine.fg3m),
        FG3A: String(mine.fg3a),
        FTM: String(mine.ftm),
        FTA: String(mine.fta),
        OREB: String(oreb),
        DREB: String(dreb),
        REB: String(oreb + dreb),
        AST: String(20 + Math.floor(random() * 8)),
        TOV: `${12 + Math.floor(random() * 6)}.0`,
        STL: String(6 + Math.floor(random() * 4)),
        BLK: String(4 + Math.floor(random() * 4)),
        PF: String(18 + Math.floor(random() * 6)),
        PTS: String(mine.pts),
        PLUS_MINUS: `${mine.pts - theirs.pts}.0`,
        AVAILABLE_FLAG: '1',
      });
      rows.push(row);
    }
  }
  return datasetFromRows(options.headers, rows);
}
