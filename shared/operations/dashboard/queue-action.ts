import { discardEntry, QueueActionError, resolveEntry, retryNow } from '../../recovery/queue-actions.ts';
import { crossSiteRefusal } from './cross-site.ts';
import type { DashboardDeps } from './handler.ts';
import { badPath, decodedSegment, json, type DashboardRequest, type DashboardResponse } from './http.ts';

/** The note of an action's body (`{ "note": "..." }`), trimmed; empty when there is none. */
export function noteOf(body: unknown): string {
  return typeof body === 'object' && body !== null && typeof (body as { note?: unknown }).note === 'string'
    ? (body as { note: string }).note.trim()
    : '';
}

type ActionDeps = Pick<DashboardDeps, 'definition' | 'store' | 'publisher' | 'clock' | 'logger' | 'auth'>;

/** Who acted goes with the note into the entry and its event (a token names no one). */
export const signedNote = (deps: ActionDeps, caller: string | undefined, note: string): string =>
  deps.auth.mode === 'iam' && caller ? `${note} (by ${caller})` : note;

/** What the queue actions need of the dashboard's dependencies. */
export const queueActionDeps = (deps: ActionDeps) => ({
  definition: deps.definition,
  store: deps.store,
  publisher: deps.publisher,
  clock: deps.clock,
});

/**
 * `POST /api/queue/<entry>/<retry|resolve|discard>`: a queue action from the page itself, with a
 * note saying why. An entry no longer in a state the action applies to is a 409.
 */
export async function handleQueueAction(
  deps: ActionDeps,
  req: DashboardRequest,
  caller: string | undefined,
  target: { entrySegment: string; action: string },
): Promise<DashboardResponse> {
  const refused = crossSiteRefusal(req, deps.auth);
  if (refused) return refused;
  const entryId = decodedSegment(target.entrySegment);
  if (entryId === undefined) return badPath(req);
  const note = noteOf(req.body);
  if (!note) return json(400, { error: 'bad_request', message: 'a note saying why is required' });
  const signed = signedNote(deps, caller, note);
  const actionDeps = queueActionDeps(deps);
  try {
    const result =
      target.action === 'retry'
        ? await retryNow(actionDeps, entryId, signed)
        : target.action === 'resolve'
          ? await resolveEntry(actionDeps, entryId, signed)
          : await discardEntry(actionDeps, entryId, signed);
    deps.logger.info(
      // A token names no one, and is a secret: it never goes into a log line.
      { entryId, action: target.action, note, by: deps.auth.mode === 'iam' ? (caller ?? null) : 'act token' },
      'queue action from the dashboard',
    );
    return json(200, { entry: result });
  } catch (error) {
    if (error instanceof QueueActionError) return json(409, { error: 'conflict', message: error.message });
    throw error;
  }
}
