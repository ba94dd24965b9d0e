import { describe, expect, it } from 'vitest';
import { normalizeBoxscores } from '../../functions/pipeline/raw/normalize.ts';
import { teamGameRatings } from '../../functions/pipeline/analytics/ratings.ts';
import { seriesStateAfter, missingGameNumbers } from '../../functions/pipeline/analytics/series.ts';
import { teamFormAt, missingAnalytics } from '../../functions/pipeline/precompute/form.ts';
import { grade, homeWinProbability } from '../../functions/pipeline/predict/model.ts';
import type { Game } from '../../functions/pipeline/raw/normalize.ts';
import type { TeamGameAnalytics } from '../../functions/pipeline/analytics/ratings.ts';
import { boxscoresOf, realDataset } from '../support/real-data.ts';
import { seasonOfDate } from '../../functions/pipeline/season.ts';
import { referenceCompleteness } from '../../functions/pipeline/completeness-rules.ts';

function ratingsOn(date: string, gameId: string, team: string) {
  const n = normalizeBoxscores(date, boxscoresOf(date));
  const mine = n.teamStats.find((s) => s.gameId === gameId && s.team === team)!;
  const theirs = n.teamStats.find((s) => s.gameId === gameId && s.team !== team)!;
  return teamGameRatings(mine, theirs);
}

describe('normalising real box scores', () => {
  it('2024-04-21: 16 raw rows are 8 duplicated team rows, each game counted once', () => {
    const n = normalizeBoxscores('2024-04-21', boxscoresOf('2024-04-21'));
    expect(n).toMatchObject({ rawRows: 16, duplicates: 8, rejected: [] });
    expect(n.teamStats).toHaveLength(8);
    expect(
      n.games.map((g) => [
        g.gameId,
        g.homeTeam,
        g.awayTeam,
        g.homePoints,
        g.awayPoints,
        g.winner,
        g.overtimePeriods,
      ]),
    ).toEqual([
      ['0042300101', 'BOS', 'MIA', 114, 94, 'BOS', 0],
      ['0042300121', 'MIL', 'IND', 109, 94, 'MIL', 0],
      ['0042300141', 'OKC', 'NOP', 94, 92, 'OKC', 0],
      ['0042300171', 'LAC', 'DAL', 109, 97, 'LAC', 0],
    ]);
    expect(n.games[0]).toMatchObject({ season: '2023-24', seriesId: '004230010', round: 1, gameNumber: 1 });
  });

  it('2013-05-06: a double-overtime game (58 minutes) has two overtime periods', () => {
    const n = normalizeBoxscores('2013-05-06', boxscoresOf('2013-05-06'));
    expect(n.games.find((g) => g.gameId === '0041200231')).toMatchObject({
      homeTeam: 'SAS',
      awayTeam: 'GSW',
      homePoints: 129,
      awayPoints: 127,
      winner: 'SAS',
      overtimePeriods: 2,
    });
    expect(n.teamStats.find((s) => s.team === 'SAS')?.availableFlag).toBe(0);
  });

  it('normalises AVAILABLE_FLAG: empty is null, 1.0 is 1', () => {
    expect(
      normalizeBoxscores('2011-05-10', boxscoresOf('2011-05-10')).teamStats.map((s) => s.availableFlag),
    ).toEqual([null, null]);
    expect(
      normalizeBoxscores('2013-05-06', boxscoresOf('2013-05-06')).teamStats.find((s) => s.team === 'CHI')
        ?.availableFlag,
    ).toBe(1);
  });

  it('rejects a bad row with its reason and keeps the rest of the date', () => {
    const payload = boxscoresOf('2024-04-21');
    const set = payload.resultSets[0]!;
    const pts = set.headers.indexOf('PTS');
    const mia = set.rowSet.findIndex((r) => r.includes('MIA'));
    set.rowSet = set.rowSet.filter((r, i) => i === mia || !r.includes('MIA'));
    set.rowSet[mia] = set.rowSet[mia]!.map((v, i) => (i === pts ? '95' : v));
    const n = normalizeBoxscores('2024-04-21', payload);
    expect(n.rejected.map((r) => r.reason)).toEqual([
      'PTS 95 is not 2*FGM + FG3M + FTM (94)',
      'game 0042300101 has 1 valid team row(s), needs 2',
    ]);
    expect(n.games.map((g) => g.gameId)).toEqual(['0042300121', '0042300141', '0042300171']);
  });

  it('rejects conflicting duplicates instead of picking one', () => {
    const payload = boxscoresOf('2024-04-21');
    const set = payload.resultSets[0]!;
    const tov = set.headers.indexOf('TOV');
    const second = set.rowSet.findLastIndex((r) => r.includes('BOS'));
    set.rowSet[second] = set.rowSet[second]!.map((v, i) => (i === tov ? '12.0' : v));
    const n = normalizeBoxscores('2024-04-21', payload);
    expect(
      n.rejected.some(
        (r) => r.reason === 'conflicting duplicate: another row for 0042300101_BOS has different values',
      ),
    ).toBe(true);
    expect(n.games.map((g) => g.gameId)).not.toContain('0042300101');
  });
});

describe('analytics computed by hand from the CSV', () => {
  // Possessions per team: FGA + 0.44*FTA - OREB + TOV; game possessions are the mean of both.
  it('2024-04-21 BOS vs MIA: (90.04 + 89.64) / 2 = 89.84 possessions', () => {
    expect(ratingsOn('2024-04-21', '0042300101', 'BOS')).toMatchObject({
      possessions: 89.84,
      offRating: 126.89,
      defRating: 104.63,
      netRating: 22.26,
      pace: 89.84,
      win: true,
    });
  });
  it('2013-05-06 SAS vs GSW, 2OT: 118.94 possessions over 58 minutes', () => {
    expect(ratingsOn('2013-05-06', '0041200231', 'SAS')).toMatchObject({
      possessions: 118.94,
      offRating: 108.46,
      defRating: 106.78,
      netRating: 1.68,
      pace: 98.43,
    });
  });
  it('2011-05-10 CHI vs ATL: (85.32 + 81.48) / 2 = 83.4 possessions', () => {
    expect(ratingsOn('2011-05-10', '0041000205', 'CHI')).toMatchObject({
      possessions: 83.4,
      offRating: 113.91,
      defRating: 99.52,
      netRating: 14.39,
      pace: 83.4,
    });
  });
});

describe('series, form and model', () => {
  const game = (n: number, date: string, winner: string): Game => ({
    gameId: `004230010${n}`,
    gameDate: date,
    season: '2023-24',
    homeTeam: 'BOS',
    awayTeam: 'MIA',
    homePoints: 100,
    awayPoints: 90,
    winner,
    overtimePeriods: 0,
    seriesId: '004230010',
    round: 1,
    gameNumber: n,
  });

  it('counts series wins after a date and names the missing games', () => {
    const games = [game(1, '2024-04-21', 'BOS'), game(2, '2024-04-24', 'MIA'), game(3, '2024-04-27', 'BOS')];
    expect(seriesStateAfter(games, '2024-04-24')).toMatchObject({
      gamesPlayed: 2,
      wins: { BOS: 1, MIA: 1 },
      leader: null,
      status: 'tied 1-1',
    });
    expect(seriesStateAfter(games, '2024-04-27').status).toBe('BOS leads 2-1');
    expect(missingGameNumbers([game(1, '2024-04-21', 'BOS'), game(3, '2024-04-27', 'BOS')], 3)).toEqual([2]);
  });

  it('averages the last five games of the season on or before the date, in any input order', () => {
    const analytics: TeamGameAnalytics[] = [1, 2, 3, 4, 5, 6].map((i) => ({
      gameId: `00423001${i}0`,
      gameDate: `2024-04-2${i}`,
      season: '2023-24',
      team: 'BOS',
      opponent: 'MIA',
      win: i % 2 === 0,
      possessions: 90,
      offRating: 110,
      defRating: 100,
      netRating: i * 2,
      pace: 90,
    }));
    const form = teamFormAt('2023-24', 'BOS', '2024-04-25', [...analytics].reverse());
    expect(form).toMatchObject({
      gamesConsidered: 5,
      netRatingLast5: 6,
      winsLast5: 2,
      lastGameDate: '2024-04-25',
    });
    expect(teamFormAt('2023-24', 'BOS', '2024-04-25', analytics)).toEqual(form);
    expect(
      missingAnalytics(
        [
          { gameId: 'g1', gameDate: '2024-04-21' },
          { gameId: 'g2', gameDate: '2024-04-22' },
        ],
        [{ gameId: 'g1' }, { gameId: 'g1' }, { gameId: 'g2' }],
      ),
    ).toEqual([{ gameId: 'g2', gameDate: '2024-04-22' }]);
  });

  it('gives the home side 56% between equal teams and grades with a Brier score', () => {
    expect(homeWinProbability({ netRatingDiff: 0 })).toBe(0.5622);
    expect(homeWinProbability({ netRatingDiff: 100 })).toBe(0.95);
    expect(grade({ homeTeam: 'BOS', homeWinProbability: 0.7, predictedWinner: 'BOS' }, 'MIA')).toEqual({
      actualWinner: 'MIA',
      correct: false,
      brier: 0.49,
    });
  });

  it('serves every one of the 623 real dates with each game once in the schedule', () => {
    const dataset = realDataset();
    expect(dataset.dates).toHaveLength(623);
    expect(dataset.dates.reduce((n, d) => n + dataset.scheduleOn(d).length, 0)).toBe(1170);
    expect(dataset.nextGameDate('2024-04-21')).toBe('2024-04-22');
    expect(dataset.nextGameDate(dataset.dates.at(-1)!)).toBeNull();
  });
});

describe('seasons', () => {
  it('puts every real game date in the season the data says, the bubble finals of October 2020 included', () => {
    const dataset = realDataset();
    const wrong = dataset.dates
      .filter((d) => seasonOfDate(d) !== dataset.seasonOf(d))
      .map((d) => `${d}: ${seasonOfDate(d)} vs ${String(dataset.seasonOf(d))}`);
    expect(wrong).toEqual([]);
    expect(seasonOfDate('2020-10-11')).toBe('2019-20');
    expect(seasonOfDate('2020-12-22')).toBe('2020-21');
    expect(seasonOfDate('2023-10-24')).toBe('2023-24');
  });
});

describe('completeness rules', () => {
  it('name phases and processors of the definition: a drifted name does not compile', () => {
    type Rules = ReturnType<typeof referenceCompleteness>;
    type Doc = NonNullable<Awaited<ReturnType<Rules['expectedDocs']>>>[number];
    const drifted: Doc = {
      phase: 'raw',
      // @ts-expect-error "normalise-games" is not a processor of the reference definition (typecheck fails if it compiles)
      processor: 'normalise-games',
      collection: 'games',
      id: 'g1',
      gameId: 'g1',
    };
    // @ts-expect-error "scraping" is not a phase of the reference definition
    const wrongPhase: Doc['phase'] = 'scraping';
    expect([drifted.processor, wrongPhase]).toEqual(['normalise-games', 'scraping']);
  });
});
