import type { LoadedDefinition } from '../definition/load.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { Publisher } from '../ports/publisher.ts';
import { chunk, type DocumentStore, type QueryOptions } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import type { Notifier } from './notifier.ts';
import { readEntryOrPassOver } from './queue-entry.ts';
import { DUE_STATUSES } from './queue-policy.ts';
import { claimEntry, type Claim } from './retry-claim.ts';
import { readSupersessions } from './supersede.ts';
import { isPaused } from '../orchestration/pause-state.ts';

export interface AutoRetryDeps {
  definition: LoadedDefinition;
  store: DocumentStore;
  publisher: Publisher;
  clock: Clock;
  logger: Logger;
  notifier?: Notifier;
}

export interface TickResult {
  retried: number;
  exhausted: number;
  expired: number;
  /** Entries of superseded runs, closed without a re-run. */
  superseded: number;
}

/** Claims per transaction: one round trip for many entries (Firestore allows 500 writes). */
const CLAIM_CHUNK = 100;
/** Due entries read per query page. */
const PAGE = 500;

/** Due entries, oldest due first. Needs the composite index (status, nextRetryAt): `validate` checks it is declared. */
export function dueEntriesQuery(nowIso: string, limit: number): QueryOptions {
  return {
    filters: [
      { field: 'status', op: 'in', value: DUE_STATUSES },
      { field: 'nextRetryAt', op: '<=', value: nowIso },
    ],
    orderBy: { field: 'nextRetryAt' },
    limit,
  };
}

/**
 * Claims the given entries that are due (in transactions: a tick and another caller never retry
 * one twice) and re-publishes each one's request. The tick calls it with what its query found; the
 * dependency pump with the entries whose earlier partitions have landed.
 */
export async function retryEntries(
  deps: AutoRetryDeps,
  entryIds: readonly string[],
  now: Date,
  result: TickResult = { retried: 0, exhausted: 0, expired: 0, superseded: 0 },
): Promise<TickResult> {
  for (const ids of chunk(entryIds, CLAIM_CHUNK)) {
    const claims = await deps.store.transaction(async (tx) => {
      const entries = await Promise.all(ids.map(async (id) => await readEntryOrPassOver(tx, id)));
      const at = { now, queue: deps.definition.queue, supersessions: await readSupersessions(tx, entries) };
      return ids.flatMap((id, i): Claim[] => {
        const claim = claimEntry(tx, id, entries[i], at);
        return claim ? [claim] : [];
      });
    });
    await Promise.all(
      claims.map(async (claim) => {
        if ('entry' in claim) {
          // If this publish fails the entry stays `retrying` and is due again after retryingStaleSeconds.
          await deps.publisher.publish(claim.message.topic, claim.message.message, {
            requestId: claim.entry.requestId,
            retry: String(claim.entry.retryCount),
          });
          result.retried += 1;
          return;
        }
        if ('superseded' in claim) {
          result.superseded += 1;
          return;
        }
        const entry = 'exhausted' in claim ? claim.exhausted : claim.expired;
        if ('exhausted' in claim) result.exhausted += 1;
        else result.expired += 1;
        await deps.notifier?.({
          kind: 'failed_permanent',
          dedupKey: `failed_permanent:${entry.phase}:${entry.processor ?? '-'}:${entry.errorReason}`,
          runId: entry.runId,
          partition: entry.partition,
          phase: entry.phase,
          processor: entry.processor,
          requestId: entry.requestId,
          message:
            `${entry.requestId}: ${'exhausted' in claim ? 'automatic retries exhausted' : 'source deadline passed'}: ` +
            entry.lastError,
        });
      }),
    );
  }
  return result;
}

/**
 * One auto-retry tick: selects due entries (`pending`, `waiting`, or a `retrying` whose retry
 * was lost) with an indexed query, claims them in transactions (so two ticks never retry the
 * same entry twice), then re-publishes each original request with triggerSource=retry.
 */
export async function runAutoRetryTick(
  deps: AutoRetryDeps,
  options: { maxEntries?: number } = {},
): Promise<TickResult> {
  const result: TickResult = { retried: 0, exhausted: 0, expired: 0, superseded: 0 };
  // Paused by an operator: a retry would start work; the entries wait for the first tick after the resume.
  if (await isPaused(deps.store)) {
    deps.logger.info({ paused: true }, 'auto-retry tick: the pipeline is paused, nothing retried');
    return result;
  }
  const limit = options.maxEntries ?? 5000;
  let seen = 0;
  while (seen < limit) {
    const now = deps.clock.now();
    const nowIso = now.toISOString();
    const due = await deps.store.query(
      COLLECTIONS.queue,
      dueEntriesQuery(nowIso, Math.min(PAGE, limit - seen)),
    );
    if (due.length === 0) break;
    seen += due.length;
    await retryEntries(
      deps,
      due.map((d) => d.id),
      now,
      result,
    );
    if (due.length < PAGE) break;
  }
  deps.logger.info({ ...result }, 'auto-retry tick');
  return result;
}
