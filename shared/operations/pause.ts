import { appendEvent, writeEvent } from '../events/write-event.ts';
import { RUN_REQUEST_TOPIC } from '../messages/messages.ts';
import type { Clock } from '../ports/clock.ts';
import type { Publisher } from '../ports/publisher.ts';
import type { DocumentStore } from '../ports/store.ts';
import { parseOutboxEntries, sendOutboxEntries, unsentOutboxQuery } from '../orchestration/outbox.ts';
import { HeldSchema, operatorEventFields } from '../orchestration/held-run-requests.ts';
import { CONTROL_ID, isPaused, PauseSchema, type PauseState } from '../orchestration/pause-state.ts';
import { COLLECTIONS } from '../runtime/collections.ts';

/**
 * An operator's pause: while `pipeline_control/pipeline` says paused, nothing new starts. A run
 * request is held (`held_run_requests`, acked), a decided trigger stays `pending` in the outbox
 * (its sender and the reconciler send nothing), and the auto-retry tick retries nothing. What is
 * running finishes and is recorded. Resume clears the flag and releases what was held, in order:
 * the run requests by when they arrived, then the triggers by when they were decided. A trigger
 * whose send began before the pause was written still goes out.
 */
const NOT_PAUSED: PauseState = { paused: false, since: null, by: null, note: null };

const controlEvent = (at: string, type: 'pipeline_paused' | 'pipeline_resumed') =>
  operatorEventFields(`control--${type}--${at}`, at);

interface Actor {
  by: string;
  note: string;
}

/** Pauses the pipeline; false when it already was (nothing changed). */
export async function pausePipeline(
  deps: { store: DocumentStore; clock: Clock },
  actor: Actor,
): Promise<boolean> {
  const at = deps.clock.now().toISOString();
  return deps.store.transaction(async (tx) => {
    const current = PauseSchema.safeParse(await tx.get(COLLECTIONS.control, CONTROL_ID));
    if (current.success && current.data.paused) return false;
    tx.set(COLLECTIONS.control, CONTROL_ID, {
      paused: true,
      since: at,
      by: actor.by,
      note: actor.note,
      updatedAt: at,
    });
    writeEvent(tx, {
      ...controlEvent(at, 'pipeline_paused'),
      type: 'pipeline_paused',
      ...actor,
      message: `paused by ${actor.by}: ${actor.note}`,
    });
    return true;
  });
}

export interface Released {
  runRequests: number;
  triggers: number;
}

/** Resumes the pipeline and releases what was held; `wasPaused` false when it was not paused (it still releases leftovers). */
export async function resumePipeline(
  deps: { store: DocumentStore; publisher: Publisher; clock: Clock },
  actor: Actor,
): Promise<{ wasPaused: boolean; released: Released }> {
  const at = deps.clock.now().toISOString();
  const wasPaused = await deps.store.transaction(async (tx) => {
    const current = PauseSchema.safeParse(await tx.get(COLLECTIONS.control, CONTROL_ID));
    if (!current.success || !current.data.paused) return false;
    tx.set(COLLECTIONS.control, CONTROL_ID, { ...NOT_PAUSED, updatedAt: at });
    return true;
  });
  // Only what was decided before the flag was cleared was held: a trigger decided after it (the
  // first phase of a run request released just now, say) is its own sender's to send.
  const released = await releaseHeld(deps, at);
  if (wasPaused)
    await appendEvent(deps.store, {
      ...controlEvent(at, 'pipeline_resumed'),
      type: 'pipeline_resumed',
      ...actor,
      released,
      message: `resumed by ${actor.by}: ${actor.note} (released ${released.runRequests} run request(s), ${released.triggers} trigger(s))`,
    });
  return { wasPaused, released };
}

/** Pages released at a time: a release goes on until nothing is held. */
const RELEASE_PAGE = 200;

/** Releases the held run requests, then every trigger still pending that was decided by `heldBefore`, unless paused again. */
export async function releaseHeld(
  deps: { store: DocumentStore; publisher: Publisher; clock: Clock },
  heldBefore: string,
): Promise<Released> {
  const runRequests = await releaseHeldRunRequests(deps);
  let triggers = 0;
  for (;;) {
    if (await isPaused(deps.store)) break;
    const pending = parseOutboxEntries(
      await deps.store.query(COLLECTIONS.outbox, unsentOutboxQuery(heldBefore)),
    ).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    triggers += await sendOutboxEntries(deps.store, deps.publisher, pending, () => deps.clock.now(), {
      evenIfPaused: true,
    });
    if (pending.length < 500) break;
  }
  return { runRequests, triggers };
}

/**
 * Publishes the held run requests, oldest first, unless paused (again); each is deleted after its
 * publish (a crash in between publishes it twice: a second run request of a partition is answered
 * by the run the first started). The reconciler calls it every tick, so a resume that died
 * half-way is finished by the next one.
 */
export async function releaseHeldRunRequests(deps: {
  store: DocumentStore;
  publisher: Publisher;
}): Promise<number> {
  let released = 0;
  for (;;) {
    if (await isPaused(deps.store)) return released;
    const held = await deps.store.query(COLLECTIONS.held, {
      orderBy: { field: 'heldAt', direction: 'asc' },
      limit: RELEASE_PAGE,
    });
    for (const doc of held) {
      const { data, attributes } = HeldSchema.parse(doc.data);
      await deps.publisher.publish(RUN_REQUEST_TOPIC, JSON.parse(data) as Record<string, unknown>, {
        ...attributes,
        releasedFrom: doc.id,
      });
      await deps.store.transaction((tx) => Promise.resolve(tx.delete(COLLECTIONS.held, doc.id)));
      released += 1;
    }
    if (held.length < RELEASE_PAGE) return released;
  }
}

/** What a pause holds now: run requests and pending triggers (each a count: one read per 1,000). */
export async function heldCounts(store: DocumentStore): Promise<Released> {
  const [runRequests, triggers] = await Promise.all([
    store.countWhere(COLLECTIONS.held, []),
    store.countWhere(COLLECTIONS.outbox, [{ field: 'status', op: '==', value: 'pending' }]),
  ]);
  return { runRequests, triggers };
}
