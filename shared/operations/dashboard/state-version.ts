import { createHash } from 'node:crypto';
import type { DocumentStore } from '../../ports/store.ts';
import { COLLECTIONS } from '../../runtime/collections.ts';
import { countOpenEntries } from '../open-entries.ts';

/**
 * The page reads its whole state at least this often, even when the version says nothing changed:
 * a change the version cannot see (a write stamped by a clock behind the newest one) shows within it.
 */
export const FULL_STATE_EVERY_MS = 15_000;

/** The newest document of a collection by one field (a single-field index, which Firestore keeps for every field). */
async function newest(store: DocumentStore, collection: string, field: string): Promise<string> {
  const [doc] = await store.query(collection, { orderBy: { field, direction: 'desc' }, limit: 1 });
  return doc ? `${doc.id}@${String(doc.data[field])}` : '-';
}

/**
 * A cheap fingerprint of what the dashboard shows, four document reads whatever the store holds: the
 * newest event (every attempt, decision and queue transition writes one), the newest run update, how
 * many queue entries are open (an entry written by hand, without an event, changes it) and the newest
 * backfill update (a backfill skipping partitions already done writes no run). A phase's progress
 * is not in it: while a run it shows is RUNNING, the page reads the whole state on every poll.
 */
export async function dashboardVersion(store: DocumentStore): Promise<string> {
  const parts = await Promise.all([
    newest(store, COLLECTIONS.events, 'at'),
    newest(store, COLLECTIONS.runs, 'updatedAt'),
    countOpenEntries(store).then(String),
    newest(store, COLLECTIONS.backfills, 'updatedAt'),
  ]);
  return createHash('sha256').update(parts.join('|')).digest('hex').slice(0, 16);
}
