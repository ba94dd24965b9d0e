import { isPaused } from '../orchestration/pause-state.ts';
import {
  discardEntry,
  QueueActionError,
  resolveEntry,
  retryNow,
  type QueueActionDeps,
} from './queue-actions.ts';
import type { QueueEntry } from './queue-entry.ts';
import { countQueue, pageQueue, queuePages, type QueueFilter } from './queue-pages.ts';
import { OPEN_STATUSES } from './queue-policy.ts';
import type { QueueStatus } from './queue-status.ts';

/** What a bulk action does to each entry of a filter: the single-entry action, once per entry. */
export const BULK_ACTIONS = ['retry', 'resolve', 'discard'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

/**
 * The statuses an action takes without `--status`: a retry leaves `retrying` entries alone (their
 * retry is under way; re-publishing would run them twice), a resolve or a discard closes any open one.
 */
const DEFAULT_STATUSES: Record<BulkAction, readonly QueueStatus[]> = {
  retry: ['pending', 'waiting', 'failed_permanent'],
  resolve: OPEN_STATUSES,
  discard: OPEN_STATUSES,
};

export interface BulkResult {
  /** Entries the action changed (a retry of a superseded run's entry closes it instead: in `superseded`). */
  done: string[];
  superseded: string[];
  /** Entries it could not act on, and why (changed since they were counted, no request to re-publish…). */
  skipped: { requestId: string; reason: string }[];
}

/** A store or publish failure part way: what was done is said, and running the same command again finishes it. */
export class BulkInterruptedError extends Error {
  override readonly name = 'BulkInterruptedError';
  constructor(
    action: BulkAction,
    readonly result: BulkResult,
    cause: unknown,
  ) {
    super(
      `${action} stopped after ${result.done.length} entries (${result.skipped.length} skipped): ` +
        `${cause instanceof Error ? cause.message : String(cause)}; the same command again takes the rest ` +
        `(an entry already acted on no longer matches${
          action === 'retry' ? '; one whose publish failed stays retrying, and auto-retry re-sends it' : ''
        })`,
      { cause },
    );
  }
}

/**
 * The filter an action applies to: the one given, narrowed to the statuses the action can take.
 * A status the action does not apply to (a retry of a `succeeded` entry) is refused before anything is read.
 */
export function bulkFilter(action: BulkAction, filter: QueueFilter): QueueFilter {
  if (filter.statuses) throw new QueueActionError('a bulk action takes one --status, or none');
  if (filter.status) {
    if (!OPEN_STATUSES.includes(filter.status))
      throw new QueueActionError(
        `${action} applies to open entries (${OPEN_STATUSES.join(', ')}); ${filter.status} entries are closed`,
      );
    return filter;
  }
  return { ...filter, statuses: DEFAULT_STATUSES[action] };
}

/** What a dry run shows: how many entries match, and the first few (in entry-id order). */
export async function previewBulk(
  deps: Pick<QueueActionDeps, 'store'>,
  filter: QueueFilter,
  sampleSize = 10,
): Promise<{ matched: number; sample: QueueEntry[] }> {
  const matched = await countQueue(deps.store, filter);
  const sample = matched === 0 ? [] : (await pageQueue(deps.store, filter, { size: sampleSize })).entries;
  return { matched, sample };
}

/**
 * Applies the action to every entry of the filter, a page at a time (the id cursor moves past each
 * entry as it changes, so none is taken twice and none is missed). Each entry is its own transaction
 * and event, with the note; one that changed since it was read is skipped with the reason, not failed.
 */
export async function applyBulk(
  deps: QueueActionDeps,
  action: BulkAction,
  filter: QueueFilter,
  note: string,
  onEntry?: (done: number) => void,
): Promise<BulkResult> {
  if (action === 'retry' && (await isPaused(deps.store)))
    throw new QueueActionError('the pipeline is paused: nothing is retried until `phasegate resume`');
  const result: BulkResult = { done: [], superseded: [], skipped: [] };
  const act = { retry: retryNow, resolve: resolveEntry, discard: discardEntry }[action];
  const onlyIf = filter.status ? [filter.status] : filter.statuses;
  for await (const page of queuePages(deps.store, filter))
    for (const entry of page) {
      try {
        // Acted on only if it is still as the filter read it (auto-retry may have claimed it since).
        const after = await act(deps, entry.requestId, note, onlyIf);
        (after.status === 'superseded' ? result.superseded : result.done).push(entry.requestId);
      } catch (error) {
        if (!(error instanceof QueueActionError)) throw new BulkInterruptedError(action, result, error);
        result.skipped.push({ requestId: entry.requestId, reason: error.message });
      }
      onEntry?.(result.done.length + result.superseded.length + result.skipped.length);
    }
  return result;
}
