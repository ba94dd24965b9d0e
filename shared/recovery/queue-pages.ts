import type { DocumentStore, Filter } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { parseEntries, type QueueEntry } from './queue-entry.ts';
import type { QueueStatus } from './queue-status.ts';

/** Which entries: each field narrows; `from`/`to` is a range of partitions in the pipeline's order. */
export interface QueueFilter {
  status?: QueueStatus;
  /** Any of these statuses (an `in` filter, at most 30); with `status`, both apply. */
  statuses?: readonly QueueStatus[];
  phase?: string;
  processor?: string;
  /** The kind of the last error (`transient`, `not_ready`, `permanent`, `bug`). */
  errorType?: string;
  /** Its reason (`http_503`, `validation`, `dead_lettered`, …). */
  errorReason?: string;
  from?: string;
  to?: string;
  /** The pipeline's order of partitions, for `from`/`to` (string order when absent: right for days, weeks, months). */
  compare?: (a: string, b: string) => number;
}

/** Documents read per round trip: a page is at most this many entries, whatever the queue holds. */
export const QUEUE_PAGE_SIZE = 500;

export interface QueuePage {
  /**
   * In entry-id order (most ids start with their run's partition; `completion-…` and `run-request-…`
   * do not), at most the page size.
   */
  entries: QueueEntry[];
  /** The cursor of the next page (`after`): absent when this page is the last. */
  next?: string;
}

/** The filters Firestore applies; the partition range is applied to each page read (the scheme's order is code). */
function storeFilters(filter: QueueFilter): Filter[] {
  const filters: Filter[] = [];
  if (filter.status) filters.push({ field: 'status', op: '==', value: filter.status });
  if (filter.phase) filters.push({ field: 'phase', op: '==', value: filter.phase });
  if (filter.processor) filters.push({ field: 'processor', op: '==', value: filter.processor });
  if (filter.errorType) filters.push({ field: 'errorType', op: '==', value: filter.errorType });
  if (filter.errorReason) filters.push({ field: 'errorReason', op: '==', value: filter.errorReason });
  if (filter.statuses) filters.push({ field: 'status', op: 'in', value: [...filter.statuses] });
  return filters;
}

const hasRange = (filter: QueueFilter): boolean => Boolean(filter.from ?? filter.to);

function inRange(partition: string | null | undefined, filter: QueueFilter): boolean {
  if (!hasRange(filter)) return true;
  // An entry that names no partition is in no range.
  if (partition === undefined || partition === null) return false;
  const compare = filter.compare ?? ((a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0));
  return (
    (!filter.from || compare(partition, filter.from) >= 0) &&
    (!filter.to || compare(partition, filter.to) <= 0)
  );
}

/**
 * One page of matching entries after the cursor `after`: reads pages of `size` in document-id
 * order until `size` entries match or the queue ends. What one call reads is bounded by the matches
 * of the store's filters (status, phase, processor), never held at once; a partition range alone is
 * checked in code, so it reads every entry, page by page (README: "What a tick, a poll and health read").
 */
export async function pageQueue(
  store: DocumentStore,
  filter: QueueFilter,
  options: { after?: string; size?: number } = {},
): Promise<QueuePage> {
  const size = options.size ?? QUEUE_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1)
    throw new Error(`a queue page holds at least 1 entry (got ${size})`);
  const entries: QueueEntry[] = [];
  let after = options.after;
  for (;;) {
    const docs = await store.query(COLLECTIONS.queue, {
      filters: storeFilters(filter),
      byId: { after },
      limit: size,
    });
    for (const doc of docs) {
      const [entry] = parseEntries([doc]);
      if (entry && inRange(entry.partition, filter)) entries.push(entry);
      // The cursor is the last entry handed out: the next page starts right behind it.
      if (entries.length === size) return { entries, next: doc.id };
    }
    // A short read is the end of the queue; a full one may have more behind it.
    if (docs.length < size) return { entries };
    after = docs.at(-1)!.id;
  }
}

/** Every page of the match, one at a time: for acting on a large range without holding it all. */
export async function* queuePages(
  store: DocumentStore,
  filter: QueueFilter,
  size = QUEUE_PAGE_SIZE,
): AsyncGenerator<QueueEntry[]> {
  let after: string | undefined;
  do {
    const page = await pageQueue(store, filter, { after, size });
    if (page.entries.length > 0) yield page.entries;
    after = page.next;
  } while (after !== undefined);
}

/**
 * How many entries match, said before anything acts on them. Without a partition range it is one
 * aggregate count (Firestore bills a read per 1,000 entries counted); with one, the entries of the
 * other filters are read page by page, ids kept, not held.
 */
export async function countQueue(store: DocumentStore, filter: QueueFilter): Promise<number> {
  if (!hasRange(filter)) return store.countWhere(COLLECTIONS.queue, storeFilters(filter));
  let count = 0;
  for await (const page of queuePages(store, filter)) count += page.length;
  return count;
}
