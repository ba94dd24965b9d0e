import { z } from 'zod';
import type { HttpClient } from '../../../shared/index.ts';
import { createSourceClient } from './source-client.ts';

const GameDatesSchema = z.object({ dates: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/)) });

/** The provider's calendar: the dates with games in a range. */
export function sourceCalendar(http: HttpClient, sourceApiUrl: string) {
  return async (from: string, to: string): Promise<string[]> =>
    (await createSourceClient(http, sourceApiUrl).getJson('/v1/game-dates', { from, to }, GameDatesSchema))
      .dates;
}
