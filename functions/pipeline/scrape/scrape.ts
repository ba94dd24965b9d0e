import { createHash } from 'node:crypto';
import type { Processor, ProcessorContext } from '../../../shared/index.ts';
import { DOMAIN, rawPayloadId } from '../collections.ts';
import {
  BoxscoresResponseSchema,
  NextGameDateResponseSchema,
  ScheduleResponseSchema,
  SeasonGamesResponseSchema,
  type SchedulePayload,
} from '../source/payloads.ts';
import { createSourceClient } from '../source/source-client.ts';

export const contentHash = (text: string): string => createHash('sha256').update(text).digest('hex');

async function storePayload(
  ctx: ProcessorContext,
  kind: 'schedule' | 'boxscores',
  payload: unknown,
  source: string,
): Promise<string> {
  const text = JSON.stringify(payload);
  const hash = contentHash(text);
  await ctx.write(DOMAIN.rawPayloads, [
    {
      id: rawPayloadId(ctx.request.partition, kind),
      data: {
        gameDate: ctx.request.partition,
        kind,
        payload: text,
        contentHash: hash,
        bytes: text.length,
        source,
        fetchedAt: ctx.clock.now().toISOString(),
      },
    },
  ]);
  return hash;
}

/** Schedule of the date, the next game date and its games, and the season's games so far. */
export function scrapeScheduleProcessor(sourceApiUrl: string): Processor {
  return {
    async run(ctx) {
      const source = createSourceClient(ctx.http, sourceApiUrl);
      const date = ctx.request.partition;
      const schedule = await source.getJson('/v1/schedule', { date }, ScheduleResponseSchema);
      const { nextGameDate } = await source.getJson(
        '/v1/next-game-date',
        { after: date },
        NextGameDateResponseSchema,
      );
      const nextGames = nextGameDate
        ? (await source.getJson('/v1/schedule', { date: nextGameDate }, ScheduleResponseSchema)).games
        : [];
      const seasonGames = schedule.season
        ? (
            await source.getJson(
              '/v1/season-games',
              { season: schedule.season, through: date },
              SeasonGamesResponseSchema,
            )
          ).games
        : [];
      const payload: SchedulePayload = {
        date,
        season: schedule.season,
        games: schedule.games,
        nextGameDate,
        nextGames,
        seasonGames,
      };
      await storePayload(ctx, 'schedule', payload, source.baseUrl);
      return {
        metrics: {
          games: schedule.games.length,
          nextGames: nextGames.length,
          seasonGames: seasonGames.length,
        },
      };
    },
  };
}

/** Team box scores of the date, kept exactly as the source sent them (dirty rows included). */
export function scrapeBoxscoresProcessor(sourceApiUrl: string): Processor {
  return {
    async run(ctx) {
      const source = createSourceClient(ctx.http, sourceApiUrl);
      const boxscores = await source.getJson(
        '/v1/boxscores',
        { date: ctx.request.partition },
        BoxscoresResponseSchema,
      );
      await storePayload(ctx, 'boxscores', boxscores, source.baseUrl);
      return { metrics: { rows: boxscores.resultSets[0]?.rowSet.length ?? 0 } };
    },
  };
}
