import type { LoadedDefinition } from '../definition/load.ts';
import { TOPICS, type RunRequest } from '../messages/messages.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { Publisher } from '../ports/publisher.ts';
import type { DocumentStore } from '../ports/store.ts';
import type { Notifier } from '../recovery/notifier.ts';
import { retryEntries } from '../recovery/auto-retry.ts';
import type { QueueEntry } from '../recovery/queue-entry.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import type { RunDoc } from './run-doc.ts';

/**
 * Partition dependencies, with `dependencies: 'trigger'`: a processor that waits for earlier
 * partitions (`waitForEarlierPartitions`) gets them run. Each missing partition is one document of
 * `partition_dependencies`, whoever asked for it first: two waiting runs, or two triggers of one
 * partition, start each earlier partition once. The pump starts them in the scheme's order, at most
 * `concurrency` at a time that are actually working (a dependency run that itself waits for earlier
 * ones holds no slot: the earliest always gets one, so a chain cannot deadlock), follows each by its
 * partition's current run, and when every partition an entry waits for has succeeded it makes the
 * entry due and retries it as the auto-retry tick would: the waiting run resumes at once, not at its
 * next source check.
 */
export type DependencyStatus = 'queued' | 'started' | 'done' | 'failed';

export interface DependencyDoc {
  partition: string;
  status: DependencyStatus;
  /** Queue entries (request ids) that wait for this partition: the newest 50. */
  waiters: string[];
  /** How many entries asked for it. */
  waiterCount?: number;
  requestedAt: string;
  startedAt: string | null;
  /** How often a run request was published for it (a lost publish is sent again, up to 3 times). */
  starts: number;
  /** The message id of the last run request published for it: its run is the one with that request. */
  messageId: string | null;
  /** The run that settled it, and how. */
  runId: string | null;
  outcome: string | null;
  reason: string | null;
  updatedAt: string;
}

export interface DependencyDeps {
  definition: LoadedDefinition;
  store: DocumentStore;
  publisher: Publisher;
  clock: Clock;
  logger: Logger;
  notifier?: Notifier;
}

/** A started partition with no run after this long had its request lost or refused: sent again. */
export const DEPENDENCY_START_STALE_MS = 600_000;
const MAX_STARTS = 3;
const MAX_WAITERS = 50;
const TERMINAL = new Set(['SUCCESS', 'PARTIAL', 'FAILED', 'SUPERSEDED']);

const asDependency = (data: Record<string, unknown> | undefined) =>
  data as unknown as DependencyDoc | undefined;

/** The current run of each partition (run_locks names it), in two batched reads. */
async function currentRuns(
  store: DocumentStore,
  partitions: readonly string[],
): Promise<Map<string, RunDoc | undefined>> {
  const unique = [...new Set(partitions)];
  if (unique.length === 0) return new Map();
  const locks = await store.getMany(COLLECTIONS.runLocks, unique);
  const runIds = locks.map((l) => (typeof l?.runId === 'string' ? l.runId : null));
  const named = runIds.filter((id): id is string => id !== null);
  const runs = named.length ? await store.getMany(COLLECTIONS.runs, named) : [];
  const byId = new Map(named.map((id, i) => [id, runs[i] as RunDoc | undefined]));
  return new Map(unique.map((p, i) => [p, runIds[i] ? byId.get(runIds[i]) : undefined]));
}

/**
 * Records what a waiting entry needs: each of its earlier partitions becomes (or joins) a
 * dependency document. Idempotent: a redelivered notice or a second waiter adds nothing twice.
 */
export async function requestDependencies(
  deps: DependencyDeps,
  entry: Pick<QueueEntry, 'requestId' | 'partition' | 'waitingForPartitions'>,
): Promise<string[]> {
  const { scheme } = deps.definition;
  // Only earlier ones: a processor naming its own or a later partition would make a cycle.
  const named = [...new Set(entry.waitingForPartitions ?? [])];
  const partitions = named.filter(
    (p) => scheme.problem(p) === null && entry.partition !== null && scheme.compare(p, entry.partition) < 0,
  );
  if (partitions.length < named.length)
    deps.logger.warn(
      { requestId: entry.requestId, ignored: named.filter((p) => !partitions.includes(p)) },
      'a wait named partitions that are not earlier keys of this pipeline: not run',
    );
  if (partitions.length === 0) return [];
  const now = deps.clock.now().toISOString();
  // Read outside the transaction: a current run that is not SUCCESS re-opens a `done` one.
  const runs = await currentRuns(deps.store, partitions);
  return deps.store.transaction(async (tx) => {
    const existing = await Promise.all(
      partitions.map(async (p) => asDependency(await tx.get(COLLECTIONS.dependencies, p))),
    );
    const added: string[] = [];
    partitions.forEach((partition, i) => {
      const doc = existing[i];
      const regressed = doc?.status === 'done' && runs.get(partition)?.status !== 'SUCCESS';
      if (doc?.waiters.includes(entry.requestId) && !regressed) return;
      if (!doc || regressed) added.push(partition);
      const next: DependencyDoc = doc
        ? {
            ...doc,
            // The newest waiters only: the count says how many asked (a document stays far below 1 MiB).
            waiters: [...doc.waiters.filter((w) => w !== entry.requestId), entry.requestId].slice(
              -MAX_WAITERS,
            ),
            waiterCount:
              (doc.waiterCount ?? doc.waiters.length) + (doc.waiters.includes(entry.requestId) ? 0 : 1),
            ...(regressed
              ? {
                  status: 'queued' as const,
                  reason: `its run ${runs.get(partition)?.runId ?? '(none)'} is no longer SUCCESS`,
                }
              : {}),
            updatedAt: now,
          }
        : {
            partition,
            status: 'queued',
            waiters: [entry.requestId],
            waiterCount: 1,
            requestedAt: now,
            startedAt: null,
            starts: 0,
            messageId: null,
            runId: null,
            outcome: null,
            reason: null,
            updatedAt: now,
          };
      tx.set(COLLECTIONS.dependencies, partition, { ...next });
    });
    return added;
  });
}

export interface PumpResult {
  started: string[];
  done: string[];
  failed: string[];
  resumed: string[];
}

/** One pass: settle what finished, start what has a slot, resume what has everything it waited for. */
export async function pumpDependencies(deps: DependencyDeps): Promise<PumpResult> {
  const result: PumpResult = { started: [], done: [], failed: [], resumed: [] };
  const { scheme } = deps.definition;
  const now = deps.clock.now();
  // Read in one query (a failed one is done once its partition succeeds after all: a retry, a person).
  const open = (
    await deps.store.query(COLLECTIONS.dependencies, {
      filters: [{ field: 'status', op: 'in', value: ['started', 'queued', 'failed'] }],
    })
  ).map((d) => d.data as unknown as DependencyDoc);
  const waitingEntries = (
    await deps.store.query(COLLECTIONS.queue, {
      filters: [
        { field: 'status', op: '==', value: 'waiting' },
        { field: 'errorReason', op: '==', value: 'earlier_partitions_missing' },
      ],
    })
  ).map((d) => d.data as unknown as QueueEntry);
  const waitingRuns = new Set(waitingEntries.map((e) => e.runId));

  let active = 0;
  const queued: DependencyDoc[] = [];
  const runsOf = await currentRuns(
    deps.store,
    open.map((d) => d.partition),
  );
  for (const dep of open) {
    const run = runsOf.get(dep.partition);
    if (run?.status === 'SUCCESS') {
      if (
        await settle(deps, dep.partition, dep, {
          status: 'done',
          runId: run.runId,
          outcome: run.status,
          reason: null,
        })
      )
        result.done.push(dep.partition);
      continue;
    }
    if (dep.status === 'failed') continue;
    if (dep.status === 'queued') {
      // An earlier run of it that did not succeed is why it is needed: it runs again.
      queued.push(dep);
      continue;
    }
    // The run it started, or one that began after it (its request refused for a run under way).
    const current =
      run &&
      (run.requestMessageId === dep.messageId || (dep.startedAt !== null && run.createdAt >= dep.startedAt));
    if (run && current && TERMINAL.has(run.status)) {
      const reason = `run ${run.runId} of ${dep.partition} ended ${run.status}: ${run.lastError ?? 'see its queue entries'}`;
      if (
        await settle(deps, dep.partition, dep, {
          status: 'failed',
          runId: run.runId,
          outcome: run.status,
          reason,
        })
      )
        result.failed.push(dep.partition);
      continue;
    }
    if (run?.status === 'RUNNING') {
      if (!waitingRuns.has(run.runId)) active += 1;
      continue;
    }
    // Started, but no run of it is under way: the request was lost or refused.
    if (dep.startedAt && now.getTime() - Date.parse(dep.startedAt) > DEPENDENCY_START_STALE_MS) {
      const next =
        dep.starts >= MAX_STARTS
          ? {
              status: 'failed' as const,
              reason: `no run of ${dep.partition} started after ${dep.starts} run requests`,
            }
          : { status: 'queued' as const, reason: null };
      if (await settle(deps, dep.partition, dep, { ...next, runId: null, outcome: null })) {
        if (next.status === 'failed') result.failed.push(dep.partition);
        else queued.push({ ...dep, status: 'queued' });
      }
    } else {
      active += 1;
    }
  }

  queued.sort((a, b) => scheme.compare(a.partition, b.partition));
  for (const dep of queued.slice(0, Math.max(0, deps.definition.dependencies.concurrency - active))) {
    if (!(await claimStart(deps, dep.partition))) continue;
    const others = (dep.waiterCount ?? dep.waiters.length) - 1;
    const request: RunRequest = {
      partition: dep.partition,
      triggerSource: 'backfill',
      // requestedBy is at most 200 characters: the first waiter and how many more.
      requestedBy:
        `dependencies: needed by ${dep.waiters[0] ?? '?'}${others > 0 ? ` and ${others} more` : ''}`.slice(
          0,
          200,
        ),
    };
    const messageId = await deps.publisher.publish(TOPICS.runRequests, request, {
      dependency: dep.partition,
    });
    await deps.store.set(COLLECTIONS.dependencies, dep.partition, { messageId }, { merge: true });
    result.started.push(dep.partition);
  }

  for (const partition of result.failed) {
    await deps.notifier?.({
      kind: 'failed_permanent',
      dedupKey: `dependency_failed:${partition}`,
      runId: null,
      phase: 'dependencies',
      processor: null,
      message:
        `earlier partition ${partition} did not succeed; the runs waiting for it stay waiting until it does ` +
        `(retry it, then they resume)`,
    });
  }
  result.resumed = await resumeWaiters(deps, waitingEntries);
  // Re-run now, not at the next tick (an idle tick subscription of the emulator delivers up to ~10 s late).
  if (result.resumed.length > 0) await retryEntries(deps, result.resumed, deps.clock.now());
  if (result.started.length + result.done.length + result.failed.length + result.resumed.length > 0)
    deps.logger.info({ ...result, active }, 'partition dependencies');
  return result;
}

async function settle(
  deps: DependencyDeps,
  partition: string,
  seen: Pick<DependencyDoc, 'status' | 'starts'>,
  to: Pick<DependencyDoc, 'status' | 'runId' | 'outcome' | 'reason'>,
): Promise<boolean> {
  const at = deps.clock.now().toISOString();
  return deps.store.transaction(async (tx) => {
    const doc = asDependency(await tx.get(COLLECTIONS.dependencies, partition));
    // Unchanged since this pump read it: another pump that re-started it meanwhile wins.
    if (doc?.status !== seen.status || doc.starts !== seen.starts) return false;
    tx.set(COLLECTIONS.dependencies, partition, { ...doc, ...to, updatedAt: at });
    return true;
  });
}

/** Queued → started in a transaction: two pumps at once start a partition once. */
async function claimStart(deps: DependencyDeps, partition: string): Promise<boolean> {
  const at = deps.clock.now().toISOString();
  return deps.store.transaction(async (tx) => {
    const doc = asDependency(await tx.get(COLLECTIONS.dependencies, partition));
    if (doc?.status !== 'queued') return false;
    tx.set(COLLECTIONS.dependencies, partition, {
      ...doc,
      status: 'started',
      startedAt: at,
      starts: doc.starts + 1,
      updatedAt: at,
    });
    return true;
  });
}

/**
 * Entries whose earlier partitions have all succeeded are made due now (the auto-retry tick the
 * pump publishes re-runs them). One that waits for a partition that failed stays waiting, saying so.
 */
async function resumeWaiters(deps: DependencyDeps, entries: QueueEntry[]): Promise<string[]> {
  const resumed: string[] = [];
  const { scheme } = deps.definition;
  // Keys of the scheme only: one bad key must not break every pump (it would name no document).
  const keysOf = (entry: QueueEntry) =>
    (entry.waitingForPartitions ?? []).filter((p) => scheme.problem(p) === null);
  const needed = [...new Set(entries.flatMap(keysOf))];
  const runs = await currentRuns(deps.store, needed);
  const docs = needed.length ? await deps.store.getMany(COLLECTIONS.dependencies, needed) : [];
  const failedWhy = new Map(
    needed.map((p, i) => [
      p,
      asDependency(docs[i])?.status === 'failed' ? (asDependency(docs[i])?.reason ?? 'failed') : null,
    ]),
  );
  const check = (partition: string) => ({
    ok: runs.get(partition)?.status === 'SUCCESS',
    why: failedWhy.get(partition) ?? null,
  });
  const now = deps.clock.now().toISOString();
  for (const entry of entries) {
    const keys = keysOf(entry);
    if (keys.length === 0) continue;
    const states = keys.map(check);
    // Resumed once per state of what it waits for: a processor that waits again although those
    // runs succeeded (its own check wants more) goes back to its source-check cadence, not a loop.
    const resumeKey = keys.map((p) => runs.get(p)?.runId ?? '-').join(',');
    const failed = states.map((s) => s.why).filter((w): w is string => w !== null);
    const ready = states.every((s) => s.ok);
    if (!ready && failed.length === 0) continue;
    const changed = await deps.store.transaction(async (tx) => {
      const current = (await tx.get(COLLECTIONS.queue, entry.requestId)) as QueueEntry | undefined;
      if (current?.status !== 'waiting' || current.errorReason !== 'earlier_partitions_missing') return false;
      if (ready) {
        if (current.dependencyResumeKey === resumeKey) return false;
        tx.set(
          COLLECTIONS.queue,
          entry.requestId,
          {
            dependencyResumeKey: resumeKey,
            nextRetryAt: now,
            updatedAt: now,
            lastError: `${current.lastError.replace(/ \[an earlier partition failed: .*\]$/, '')}`,
          },
          { merge: true },
        );
        return true;
      }
      const note = ` [an earlier partition failed: ${failed[0]}]`;
      if (current.lastError.endsWith(note)) return false;
      tx.set(
        COLLECTIONS.queue,
        entry.requestId,
        {
          lastError: `${current.lastError.replace(/ \[an earlier partition failed: .*\]$/, '')}${note}`,
          updatedAt: now,
        },
        { merge: true },
      );
      return false;
    });
    if (changed) resumed.push(entry.requestId);
  }
  return resumed;
}
