import { z } from 'zod';

const DateSchema = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const TricodeSchema = z.string().regex(/^[A-Z]{2,4}$/);
const GameIdSchema = z.string().regex(/^\d{10}$/);

export const ScheduledGameSchema = z.object({
  gameId: GameIdSchema,
  gameDate: DateSchema,
  season: z.string().regex(/^\d{4}-\d{2}$/),
  homeTeam: TricodeSchema,
  awayTeam: TricodeSchema,
});
export type ScheduledGame = z.infer<typeof ScheduledGameSchema>;

export const ScheduleResponseSchema = z.object({
  date: DateSchema,
  season: z.string().nullable(),
  games: z.array(ScheduledGameSchema),
});
export const BoxscoresResponseSchema = z.object({
  date: DateSchema,
  resultSets: z
    .array(
      z.object({
        name: z.string(),
        headers: z.array(z.string()).min(1),
        rowSet: z.array(z.array(z.string())),
      }),
    )
    .min(1),
});
export type BoxscoresResponse = z.infer<typeof BoxscoresResponseSchema>;
export const NextGameDateResponseSchema = z.object({
  after: DateSchema,
  nextGameDate: DateSchema.nullable(),
});
export const SeasonGamesResponseSchema = z.object({
  season: z.string(),
  through: DateSchema,
  games: z.array(z.object({ gameId: GameIdSchema, gameDate: DateSchema })),
});

/** What scrape-schedule keeps for a date: everything later phases need to know about the calendar. */
export const SchedulePayloadSchema = z.object({
  date: DateSchema,
  season: z.string().nullable(),
  games: z.array(ScheduledGameSchema),
  nextGameDate: DateSchema.nullable(),
  nextGames: z.array(ScheduledGameSchema),
  /** Every game of the season up to and including the date: the data dependency of precompute. */
  seasonGames: z.array(z.object({ gameId: GameIdSchema, gameDate: DateSchema })),
});
export type SchedulePayload = z.infer<typeof SchedulePayloadSchema>;
