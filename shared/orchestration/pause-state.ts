import { z } from 'zod';
import type { DocumentStore } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';

/** `pipeline_control/pipeline`: an operator's pause (operations/pause.ts writes it; the senders read it). */
export const CONTROL_ID = 'pipeline';

export const PauseSchema = z.looseObject({
  paused: z.boolean(),
  since: z.string().nullable(),
  by: z.string().nullable(),
  note: z.string().nullable(),
});
export type PauseState = z.infer<typeof PauseSchema>;

/** Whether the pipeline is paused: one read. A missing or unreadable control document is not a pause. */
export async function readPause(store: Pick<DocumentStore, 'get'>): Promise<PauseState> {
  const parsed = PauseSchema.safeParse(await store.get(COLLECTIONS.control, CONTROL_ID));
  return parsed.success ? parsed.data : { paused: false, since: null, by: null, note: null };
}

export const isPaused = async (store: Pick<DocumentStore, 'get'>): Promise<boolean> =>
  (await readPause(store)).paused;
