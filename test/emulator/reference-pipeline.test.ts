import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOMAIN } from '../../functions/pipeline/collections.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { TOPICS } from '../../shared/messages/messages.ts';
import { eventually } from '../support/emulator-harness.ts';
import { findRunByMessage } from '../../scripts/lib/watch-run.ts';
import { runDate, startReferenceHarness, type ReferenceHarness } from '../support/reference-harness.ts';

let h: ReferenceHarness;
beforeAll(async () => {
  h = await startReferenceHarness('reference');
});
afterAll(async () => {
  await h?.stop();
});

const byDate = async (
  collection: string,
  field: string,
  date: string,
): Promise<({ id: string } & Record<string, unknown>)[]> =>
  (await h.store.query(collection, { filters: [{ field, op: '==', value: date }] })).map((d) => ({
    ...d.data,
    id: d.id,
  }));
const allCompleted = (outcome: Record<string, string>) =>
  expect(
    Object.values(outcome).every((s) => s === 'completed'),
    JSON.stringify(outcome),
  ).toBe(true);

describe('the reference pipeline on the emulators, real dates', () => {
  it('2015-04-18 (an overtime game, first date of 2014-15) runs every phase with the right outputs', async () => {
    const outcome = await runDate(h, '2015-04-18', 'r-20150418');
    allCompleted(outcome);
    expect(Object.keys(outcome)).toHaveLength(10);
    const games = await byDate(DOMAIN.games, 'gameDate', '2015-04-18');
    expect(games.map((g) => g.id).sort()).toEqual(['0041400121', '0041400131', '0041400141', '0041400151']);
    expect(games.find((g) => g.id === '0041400131')).toMatchObject({
      homeTeam: 'TOR',
      awayTeam: 'WAS',
      homePoints: 86,
      awayPoints: 93,
      winner: 'WAS',
      overtimePeriods: 1,
      season: '2014-15',
      runId: 'r-20150418',
    });
    expect(await byDate(DOMAIN.teamGameStats, 'gameDate', '2015-04-18')).toHaveLength(8);
    expect(await byDate(DOMAIN.teamGameAnalytics, 'gameDate', '2015-04-18')).toHaveLength(8);
    const series = await byDate(DOMAIN.seriesState, 'gameDate', '2015-04-18');
    expect(series.find((s) => s.seriesId === '004140013')).toMatchObject({
      wins: { WAS: 1, TOR: 0 },
      status: 'WAS leads 1-0',
    });
    // Features and predictions are for the next game date's games.
    const predictions = await byDate(DOMAIN.predictions, 'sourceGameDate', '2015-04-18');
    expect(predictions.length).toBeGreaterThan(0);
    expect(
      predictions.every(
        (p) =>
          p.gameDate === '2015-04-19' &&
          p.modelVersion === 'net-rating-logistic-v1' &&
          p.madeForRunId === 'r-20150418',
      ),
    ).toBe(true);
    const raw = await h.store.get(DOMAIN.rawPayloads, '2015-04-18_boxscores');
    expect(raw?.contentHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('2024-04-20 then 2024-04-21 (duplicated rows): each game once, form and grading as computed by hand', async () => {
    allCompleted(await runDate(h, '2024-04-20', 'r-20240420'));
    allCompleted(await runDate(h, '2024-04-21', 'r-20240421'));
    const completion = await h.store.get(COLLECTIONS.processorRuns, 'r-20240421--raw--normalize-team-stats');
    expect((completion?.completion as { metrics: Record<string, number> }).metrics).toEqual({
      rawRows: 16,
      accepted: 8,
      rejected: 0,
      duplicates: 8,
      games: 4,
    });
    expect(await byDate(DOMAIN.games, 'gameDate', '2024-04-21')).toHaveLength(4);
    expect(await byDate(DOMAIN.teamGameStats, 'gameDate', '2024-04-21')).toHaveLength(8);
    const bos = await h.store.get(DOMAIN.teamGameAnalytics, '0042300101_BOS');
    expect(bos).toMatchObject({
      possessions: 89.84,
      offRating: 126.89,
      defRating: 104.63,
      netRating: 22.26,
      pace: 89.84,
    });
    // BOS played once in the 2023-24 playoffs by the end of 2024-04-21.
    expect(await h.store.get(DOMAIN.teamForm, '2023-24_BOS_2024-04-21')).toMatchObject({
      gamesConsidered: 1,
      netRatingLast5: 22.26,
      winsLast5: 1,
    });
    // Predicted on 2024-04-20 with no form for either side (56.22% home), graded on 2024-04-21.
    expect(await h.store.get(DOMAIN.predictions, '0042300101')).toMatchObject({
      sourceGameDate: '2024-04-20',
      homeTeam: 'BOS',
      homeWinProbability: 0.5622,
      predictedWinner: 'BOS',
      actualWinner: 'BOS',
      correct: true,
      brier: 0.1917,
    });
  });

  it('a run request for 2017-04-15 goes through the orchestrator and every gate to SUCCESS', async () => {
    const messageId = await h.publishJson(TOPICS.runRequests, {
      partition: '2017-04-15',
      triggerSource: 'manual',
    });
    const runId = (await findRunByMessage(h.store, messageId))!.runId;
    let run: Record<string, unknown> | undefined;
    await eventually(async () => (run = await h.store.get(COLLECTIONS.runs, runId))?.status === 'SUCCESS', {
      timeoutMs: 60_000,
      what: () => `run ${runId} to succeed (${JSON.stringify(run?.status)} ${String(run?.lastError)})`,
    });
    const phases = run!.phases as Record<string, { status: string; done: number; expected: string[] }>;
    expect(Object.values(phases).map((p) => `${p.status} ${p.done}/${p.expected.length}`)).toEqual(
      Array(5).fill('SUCCEEDED 2/2'),
    );
    const gates = await h.store.query(COLLECTIONS.events, {
      filters: [
        { field: 'runId', op: '==', value: runId },
        { field: 'type', op: '==', value: 'gate_passed' },
      ],
    });
    expect(gates).toHaveLength(5);
    const raw = gates.find((g) => g.data.phase === 'raw')!.data.checks as {
      collection: string;
      expected: number;
      found: number;
    }[];
    expect(raw.find((c) => c.collection === 'games')).toMatchObject({ expected: 4, found: 4 });
  });
});
