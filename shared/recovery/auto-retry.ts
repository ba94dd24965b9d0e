import type { LoadedDefinition } from '../definition/load.ts';
import { phaseTopic, type ProcessorRequest } from '../messages/messages.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { Publisher } from '../ports/publisher.ts';
import { chunk, type DocumentStore, type QueryOptions } from '../ports/store.ts';
import { readSupersessions, settleSuperseded } from './supersede.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import type { Notifier } from './notifier.ts';
import { asEntry, recordTransition, type QueueEntry } from './queue-entry.ts';
import { DUE_STATUSES } from './queue-policy.ts';

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

/** What a retry publishes: the original request as a retry, or the orchestrator message as it was. */
export function retryMessage(
  entry: QueueEntry,
  parentEventId: string,
): { topic: string; message: unknown } | null {
  if (entry.request) {
    const request = entry.request as ProcessorRequest;
    return {
      topic: phaseTopic(request.phase),
      message: { ...request, triggerSource: 'retry', parentEventId } satisfies ProcessorRequest,
    };
  }
  return entry.retryTarget ?? null;
}

type Claim =
  | { entry: QueueEntry; message: { topic: string; message: unknown } }
  | { exhausted: QueueEntry }
  | { expired: QueueEntry }
  | { superseded: QueueEntry };

/**
 * One auto-retry tick: selects due entries (`pending`, `waiting`, or a `retrying` whose retry
 * was lost) with an indexed query, claims them in transactions (so two ticks never retry the
 * same entry twice), then re-publishes each original request with triggerSource=retry.
 */
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
  const queue = deps.definition.queue;
  const nowIso = now.toISOString();
  for (const ids of chunk(entryIds, CLAIM_CHUNK)) {
    const claims = await deps.store.transaction(async (tx) => {
      const entries = await Promise.all(
        ids.map(async (id) => ({ id, entry: asEntry(await tx.get(COLLECTIONS.queue, id)) })),
      );
      const superseded = await readSupersessions(
        tx,
        entries.map((e) => e.entry),
      );
      const won: Claim[] = [];
      for (const { id, entry } of entries) {
        if (
          !entry ||
          !DUE_STATUSES.includes(entry.status) ||
          entry.nextRetryAt === null ||
          entry.nextRetryAt > nowIso
        )
          continue;
        const by = entry.runId ? superseded.get(entry.runId) : undefined;
        if (by) {
          // Never re-run an old run's request blindly: closed (the current run decides) or re-targeted.
          settleSuperseded(tx, entry, by, nowIso);
          won.push({ superseded: entry });
          continue;
        }
        // Asking a source that was not ready is not a retry of a failure: it has its own counter,
        // so a late source does not spend the retry budget of the failures that may follow; its
        // limit is the deadline (also when its check was lost and the entry is still `retrying`).
        const sourceCheck =
          entry.status === 'waiting' || (entry.status === 'retrying' && entry.lastClaim === 'source_check');
        if (sourceCheck && entry.deadlineAt && entry.deadlineAt <= nowIso) {
          const what =
            entry.errorReason === 'earlier_partitions_missing'
              ? 'earlier partitions still missing'
              : 'source still not published';
          recordTransition(tx, {
            entry,
            type: 'queue_failed_permanent',
            at: nowIso,
            from: entry.status,
            to: 'failed_permanent',
            message: `${what} at the deadline ${entry.deadlineAt}`,
          });
          tx.set(
            COLLECTIONS.queue,
            id,
            {
              status: 'failed_permanent',
              needsManualFix: true,
              nextRetryAt: null,
              lastError: `${what} at the deadline ${entry.deadlineAt}: ${entry.lastError}`,
              updatedAt: nowIso,
            },
            { merge: true },
          );
          won.push({ expired: entry });
          continue;
        }
        // Waiting entries follow the source's cadence until their deadline, not maxRetries.
        if (!sourceCheck && entry.retryCount >= queue.maxRetries) {
          recordTransition(tx, {
            entry,
            type: 'queue_failed_permanent',
            at: nowIso,
            from: entry.status,
            to: 'failed_permanent',
            message: `gave up after ${entry.retryCount} automatic retries`,
          });
          tx.set(
            COLLECTIONS.queue,
            id,
            {
              status: 'failed_permanent',
              needsManualFix: true,
              nextRetryAt: null,
              lastError: `gave up after ${entry.retryCount} automatic retries: ${entry.lastError}`,
              updatedAt: nowIso,
            },
            { merge: true },
          );
          won.push({ exhausted: entry });
          continue;
        }
        const claimed: QueueEntry = sourceCheck
          ? { ...entry, waitChecks: (entry.waitChecks ?? 0) + 1 }
          : { ...entry, retryCount: entry.retryCount + 1 };
        const what = sourceCheck
          ? `source check ${claimed.waitChecks ?? 0} (waiting until ${entry.deadlineAt ?? 'no deadline'})`
          : `automatic retry ${claimed.retryCount} of ${queue.maxRetries}`;
        const eventId = recordTransition(tx, {
          entry: claimed,
          type: 'retry_started',
          at: nowIso,
          from: entry.status,
          to: 'retrying',
          message: what,
        });
        const message = retryMessage(claimed, eventId);
        if (!message) {
          tx.set(
            COLLECTIONS.queue,
            id,
            {
              status: 'failed_permanent',
              needsManualFix: true,
              nextRetryAt: null,
              lastError: `nothing to re-publish: ${entry.lastError}`,
              updatedAt: nowIso,
            },
            { merge: true },
          );
          won.push({ exhausted: entry });
          continue;
        }
        tx.set(
          COLLECTIONS.queue,
          id,
          {
            status: 'retrying',
            retryCount: claimed.retryCount,
            waitChecks: claimed.waitChecks ?? 0,
            lastClaim: sourceCheck ? 'source_check' : 'retry',
            lastRetryAt: nowIso,
            lastRetryEventId: eventId,
            nextRetryAt: new Date(now.getTime() + queue.retryingStaleSeconds * 1000).toISOString(),
            updatedAt: nowIso,
          },
          { merge: true },
        );
        won.push({ entry: claimed, message });
      }
      return won;
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
          phase: entry.phase,
          processor: entry.processor,
          message:
            `${entry.requestId}: ${'exhausted' in claim ? 'automatic retries exhausted' : 'source deadline passed'}: ` +
            entry.lastError,
        });
      }),
    );
  }
  return result;
}

export async function runAutoRetryTick(
  deps: AutoRetryDeps,
  options: { maxEntries?: number } = {},
): Promise<TickResult> {
  const result: TickResult = { retried: 0, exhausted: 0, expired: 0, superseded: 0 };
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
