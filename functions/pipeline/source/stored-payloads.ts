import { PermanentError } from '../../../shared/index.ts';
import { parseMessage } from '../../../shared/index.ts';
import type { ReadStore } from '../../../shared/index.ts';
import { DOMAIN, rawPayloadId } from '../collections.ts';
import {
  BoxscoresResponseSchema,
  SchedulePayloadSchema,
  type BoxscoresResponse,
  type SchedulePayload,
} from './payloads.ts';

async function readPayload(
  store: ReadStore,
  gameDate: string,
  kind: 'schedule' | 'boxscores',
): Promise<unknown> {
  const doc = await store.get(DOMAIN.rawPayloads, rawPayloadId(gameDate, kind));
  if (!doc || typeof doc.payload !== 'string') {
    throw new PermanentError(
      `raw payload ${rawPayloadId(gameDate, kind)} is missing: run the scrape phase for ${gameDate} first`,
    );
  }
  return JSON.parse(doc.payload) as unknown;
}

export async function readSchedule(store: ReadStore, gameDate: string): Promise<SchedulePayload> {
  return parseMessage(
    SchedulePayloadSchema,
    await readPayload(store, gameDate, 'schedule'),
    `stored schedule of ${gameDate}`,
  );
}

export async function readBoxscores(store: ReadStore, gameDate: string): Promise<BoxscoresResponse> {
  return parseMessage(
    BoxscoresResponseSchema,
    await readPayload(store, gameDate, 'boxscores'),
    `stored box scores of ${gameDate}`,
  );
}
