import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { TOPICS, type RunRequest } from '../../shared/messages/messages.ts';
import type { Publisher } from '../../shared/ports/publisher.ts';
import type { DocumentStore } from '../../shared/ports/store.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { parseRuns, type RunDoc } from '../../shared/orchestration/run-doc.ts';
import { findRunByMessage, FINAL_STATUSES, watchRun } from './watch-run.ts';
import { backfillId, type BackfillProgress } from '../../shared/operations/backfill-progress.ts';
import { systemClock, type Clock } from '../../shared/ports/clock.ts';

export interface BackfillState {
  from: string;
  to: string;
  /** partition -> the run that finished it and how. */
  done: Record<string, { runId: string; status: string }>;
}

export interface BackfillOptions {
  dates: string[];
  concurrency: number;
  /** Dates with the same key run in date order (a later one needs the earlier); keys run in parallel. */
  dependencyKey: (partition: string) => string;
  /** The scheme's order of partitions (string order when absent). */
  compare?: (a: string, b: string) => number;
  stateFile: string;
  runTimeoutMs?: number;
  /** The range as asked (the dates' own first and last when absent): names the progress document. */
  range?: { from: string; to: string };
  clock?: Clock;
  /** Each partition that ended, and the progress as written to `backfills/{from}_{to}` with it. */
  onProgress?: (
    event: {
      partition: string;
      status: string;
      runId: string | null;
      skipped?: boolean;
    },
    progress: BackfillProgress,
  ) => void;
  /** A progress document that could not be written (the backfill goes on; the next write catches up). */
  onProgressError?: (error: unknown) => void;
  /** Checked between dates: true stops launching new dates (Ctrl-C); runs in flight finish. */
  stopped?: () => boolean;
}

export interface BackfillResult {
  succeeded: string[];
  failed: { partition: string; status: string; runId: string | null; lastError: string | null }[];
  /** Later dates of a season whose earlier date failed: not started (they would only wait). */
  blocked: string[];
  skipped: string[];
  interrupted: boolean;
}

export function loadState(file: string, from: string, to: string): BackfillState {
  if (!existsSync(file)) return { from, to, done: {} };
  return JSON.parse(readFileSync(file, 'utf8')) as BackfillState;
}

function saveState(file: string, state: BackfillState): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(state, null, 2));
}

async function successfulRun(store: DocumentStore, partition: string): Promise<RunDoc | undefined> {
  const runs = await store.query(COLLECTIONS.runs, {
    filters: [{ field: 'partition', op: '==', value: partition }],
  });
  return parseRuns(runs).find((r) => r.status === 'SUCCESS');
}

async function runningRun(store: DocumentStore, partition: string): Promise<RunDoc | undefined> {
  const runs = await store.query(COLLECTIONS.runs, {
    filters: [
      { field: 'partition', op: '==', value: partition },
      { field: 'status', op: '==', value: 'RUNNING' },
    ],
  });
  return parseRuns(runs)[0];
}

/**
 * Backfills dates through run requests, with bounded concurrency, each season in date order.
 * Resumable: what finished is kept in `stateFile` and in Firestore; a rerun skips dates that
 * already have a SUCCESS run and waits for a run still RUNNING instead of starting another.
 */
export async function backfill(
  store: DocumentStore,
  publisher: Publisher,
  options: BackfillOptions,
): Promise<BackfillResult> {
  const sorted = [...new Set(options.dates)].sort(options.compare);
  const state = loadState(options.stateFile, sorted[0] ?? '', sorted.at(-1) ?? '');
  const chains = new Map<string, string[]>();
  for (const d of sorted)
    chains.set(options.dependencyKey(d), [...(chains.get(options.dependencyKey(d)) ?? []), d]);
  const result: BackfillResult = { succeeded: [], failed: [], blocked: [], skipped: [], interrupted: false };
  const clock = options.clock ?? systemClock;
  const from = options.range?.from ?? state.from;
  const to = options.range?.to ?? state.to;
  const startedAt = clock.now().toISOString();
  const progress: BackfillProgress = {
    backfillId: backfillId(from, to),
    from,
    to,
    total: sorted.length,
    succeeded: 0,
    skipped: 0,
    failed: 0,
    blocked: 0,
    status: 'running',
    startedAt,
    updatedAt: startedAt,
    last: null,
    failures: [],
  };
  // One write at a time, each of the whole progress as it stands: chains end in parallel, and a
  // write that overtook a later one would show an older count. A failed write is only a stale
  // picture: it is said (onProgressError) and never stops the backfill; the next write catches up.
  let writing = Promise.resolve();
  let ended = false;
  const record = (last: string | null, status: BackfillProgress['status'] = 'running'): Promise<void> => {
    // Once ended (interrupted by an error, finished), a chain still in flight does not say "running" again.
    if (ended) return writing;
    if (status !== 'running') ended = true;
    Object.assign(progress, {
      succeeded: result.succeeded.length,
      skipped: result.skipped.length,
      failed: result.failed.length,
      blocked: result.blocked.length,
      status,
      updatedAt: clock.now().toISOString(),
      last: last ?? progress.last,
      failures: result.failed
        .slice(0, 20)
        .map((f) => ({ partition: f.partition, status: f.status, runId: f.runId })),
    });
    const snapshot = structuredClone(progress);
    writing = writing
      .then(() => store.set(COLLECTIONS.backfills, snapshot.backfillId, snapshot))
      .catch((error: unknown) => options.onProgressError?.(error));
    return writing;
  };
  await record(null);

  async function runOne(partition: string): Promise<string> {
    if (state.done[partition]?.status === 'SUCCESS' || (await successfulRun(store, partition))) {
      result.skipped.push(partition);
      await record(`${partition} already done`);
      options.onProgress?.(
        { partition, status: 'SUCCESS', runId: state.done[partition]?.runId ?? null, skipped: true },
        progress,
      );
      return 'SUCCESS';
    }
    let run = await runningRun(store, partition);
    if (!run) {
      const request: RunRequest = { partition, triggerSource: 'backfill', requestedBy: 'phasegate backfill' };
      const messageId = await publisher.publish(TOPICS.runRequests, request);
      run = await findRunByMessage(store, messageId, 60_000);
    }
    if (!run)
      throw new Error(`no run was created for ${partition} within 60 s: is the orchestrator running?`);
    let final = await watchRun(store, run.runId, {
      timeoutMs: options.runTimeoutMs ?? 600_000,
    });
    // Superseded while it was watched (someone forced a run of the date): the date's outcome is the newer run's.
    for (let hops = 0; final?.status === 'SUPERSEDED' && final.supersededBy && hops < 5; hops += 1) {
      run = { ...run, runId: final.supersededBy };
      final = await watchRun(store, run.runId, {
        timeoutMs: options.runTimeoutMs ?? 600_000,
      });
    }
    const status = final && FINAL_STATUSES.has(final.status) ? final.status : 'TIMED_OUT';
    state.done[partition] = { runId: run.runId, status };
    saveState(options.stateFile, state);
    if (status === 'SUCCESS') result.succeeded.push(partition);
    else result.failed.push({ partition, status, runId: run.runId, lastError: final?.lastError ?? null });
    await record(`${partition} ${status}`);
    options.onProgress?.({ partition, status, runId: run.runId }, progress);
    return status;
  }

  async function runChain(dates: string[]): Promise<void> {
    for (const [i, partition] of dates.entries()) {
      if (options.stopped?.()) {
        result.interrupted = true;
        return;
      }
      const status = await runOne(partition);
      if (status !== 'SUCCESS') {
        result.blocked.push(...dates.slice(i + 1));
        await record(null);
        return;
      }
    }
  }

  const pending = [...chains.values()];
  const workers = Array.from(
    { length: Math.max(1, Math.min(options.concurrency, pending.length)) },
    async () => {
      for (let chain = pending.shift(); chain; chain = pending.shift()) await runChain(chain);
    },
  );
  try {
    await Promise.all(workers);
  } catch (error) {
    // The page must not show a backfill running that has stopped.
    await record(null, 'interrupted');
    throw error;
  }
  await record(null, result.interrupted ? 'interrupted' : 'finished');
  return result;
}
