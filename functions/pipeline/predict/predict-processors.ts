import { waitForEarlierPartitions } from '../../../shared/index.ts';
import { COLLECTIONS } from '../../../shared/index.ts';
import type { Processor } from '../../../shared/index.ts';
import { DOMAIN } from '../collections.ts';
import { readSchedule } from '../source/stored-payloads.ts';
import type { GameFeatures } from '../precompute/features.ts';
import type { Game } from '../raw/normalize.ts';
import { grade, homeWinProbability, MODEL_VERSION } from './model.ts';

/**
 * One prediction per game of the next game date. If that game's result is already known
 * (a backfill processed the later date first) it is graded at once, so grades do not
 * depend on the order dates were processed in.
 */
export const predictGamesProcessor: Processor = {
  async run(ctx) {
    const date = ctx.request.partition;
    const features = (
      await ctx.store.query(DOMAIN.gameFeatures, {
        filters: [{ field: 'sourceGameDate', op: '==', value: date }],
      })
    ).map((d) => d.data as unknown as GameFeatures);
    const results = await ctx.store.getMany(
      DOMAIN.games,
      features.map((f) => f.gameId),
    );
    const docs = features.map((f, i) => {
      const p = homeWinProbability(f);
      const prediction = {
        gameId: f.gameId,
        gameDate: f.gameDate,
        sourceGameDate: date,
        season: f.season,
        homeTeam: f.homeTeam,
        awayTeam: f.awayTeam,
        homeWinProbability: p,
        predictedWinner: p >= 0.5 ? f.homeTeam : f.awayTeam,
        modelVersion: MODEL_VERSION,
        madeForRunId: ctx.request.runId,
        netRatingDiff: f.netRatingDiff,
      };
      const result = results[i] as Game | undefined;
      return {
        id: f.gameId,
        data: result ? { ...prediction, ...grade(prediction, result.winner) } : prediction,
      };
    });
    await ctx.write(DOMAIN.predictions, docs, { merge: true });
    return {
      metrics: { predictions: docs.length, gradedAtOnce: docs.filter((d) => 'correct' in d.data).length },
    };
  },
};

/** Grades the predictions made earlier for this date's games against the real results. */
export const gradePredictionsProcessor: Processor = {
  async run(ctx) {
    const date = ctx.request.partition;
    const games = (
      await ctx.store.query(DOMAIN.games, { filters: [{ field: 'gameDate', op: '==', value: date }] })
    ).map((d) => d.data as unknown as Game);
    const predictions = await ctx.store.getMany(
      DOMAIN.predictions,
      games.map((g) => g.gameId),
    );
    // The previous game date's run makes the predictions for this date's games and counts them at
    // its gate. While it runs, grading would restamp them and fail that gate; before it succeeded,
    // grading a missing one would grade nothing and never come back. Dates run out of order when
    // they are triggered as dependencies: wait for it, and it resumes this once it has landed.
    const schedule = await readSchedule(ctx.store, date);
    const previous = schedule.seasonGames
      .map((g) => g.gameDate)
      .filter((d) => d < date)
      .sort()
      .at(-1);
    if (previous) {
      const lock = await ctx.store.get(COLLECTIONS.runLocks, previous);
      const run =
        typeof lock?.runId === 'string' ? await ctx.store.get(COLLECTIONS.runs, lock.runId) : undefined;
      const status = typeof run?.status === 'string' ? run.status : 'never run';
      const missing = games.some((_, i) => !predictions[i]);
      if (status === 'RUNNING' || (missing && status !== 'SUCCESS')) {
        throw waitForEarlierPartitions(
          [previous],
          `${date}'s games are predicted by the run of ${previous}, which ` +
            (status === 'RUNNING' ? 'is still deciding them' : `has not succeeded (${status})`),
        );
      }
    }
    const graded = games.flatMap((game, i) => {
      const prediction = predictions[i] as
        { homeTeam: string; homeWinProbability: number; predictedWinner: string } | undefined;
      return prediction
        ? [
            {
              id: game.gameId,
              data: { ...grade(prediction, game.winner), gradedAt: ctx.clock.now().toISOString() },
            },
          ]
        : [];
    });
    await ctx.write(DOMAIN.predictions, graded, { merge: true });
    return {
      metrics: {
        games: games.length,
        graded: graded.length,
        correct: graded.filter((g) => g.data.correct).length,
      },
    };
  },
};
