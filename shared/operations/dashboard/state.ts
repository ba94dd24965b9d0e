import type { LoadedDefinition } from '../../definition/load.ts';
import type { DocumentStore } from '../../ports/store.ts';
import { COLLECTIONS } from '../../runtime/collections.ts';
import { completedProcessors } from '../../orchestration/phase-completions.ts';
import { type RunDoc, parseRuns, readRun } from '../../orchestration/run-doc.ts';
import { actionNeeded } from '../../recovery/queue-policy.ts';
import { type QueueEntry, parseEntries } from '../../recovery/queue-entry.ts';
import { describeHeld, type HeldMessages, type PeekHeld } from '../../ports/held-messages.ts';
import { countOpenEntries, oldestOpenEntriesQuery } from '../open-entries.ts';
import { readPause, type PauseState } from '../../orchestration/pause-state.ts';
import { heldCounts, type Released } from '../pause.ts';
import {
  backfillFigures,
  formatEta,
  recentBackfills,
  type BackfillFigures,
  type BackfillProgress,
} from '../backfill-progress.ts';

/** The runs the page lists, newest first, and the open queue entries it shows, oldest first. */
export const DASHBOARD_RUNS = 50;
export const DASHBOARD_QUEUE_ENTRIES = 200;

export interface RunSummary {
  runId: string;
  partition: string;
  status: string;
  triggerSource: string;
  createdAt: string;
  updatedAt: string;
  lastError: string | null;
  phases: { id: string; status: string; done: number; expected: number }[];
}

export interface DashboardState {
  generatedAt: string;
  runs: RunSummary[];
  /** What control-dlq holds; null when not checked here, `error` when the peek failed. */
  controlDlq: (HeldMessages & { message: string }) | { error: string } | null;
  /** How many queue entries are open: `queue` shows the oldest DASHBOARD_QUEUE_ENTRIES of them. */
  queueOpen: number;
  /** An operator's pause, and what it holds now (operations/pause.ts); `paused` false otherwise. */
  control: PauseState & { held: Released };
  /** The newest backfills, as their commands last wrote them, with the figures their progress bars show. */
  backfills: (BackfillProgress & BackfillFigures & { eta: string })[];
  queue: (Pick<
    QueueEntry,
    | 'requestId'
    | 'status'
    | 'errorType'
    | 'lastError'
    | 'runId'
    | 'partition'
    | 'phase'
    | 'processor'
    | 'retryCount'
    | 'nextRetryAt'
  > & { action: string })[];
}

/** Phase progress: stored at each decision; read from the phase's completions while it runs. */
async function summarise(store: DocumentStore, run: RunDoc): Promise<RunSummary> {
  const phases = await Promise.all(
    run.phaseOrder.map(async (id) => {
      const state = run.phases[id];
      const expected = state?.expected.length ?? 0;
      const done =
        state?.status === 'RUNNING' || state?.status === 'GATE_FAILED'
          ? (await completedProcessors(store, run.runId, id)).length
          : (state?.done ?? 0);
      return { id, status: state?.status ?? 'PENDING', done: Math.min(done, expected), expected };
    }),
  );
  return {
    runId: run.runId,
    partition: run.partition,
    status: run.status,
    triggerSource: run.triggerSource,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    lastError: run.lastError ?? (run.notes?.length ? run.notes.join('; ') : null),
    phases,
  };
}

export async function controlDlqState(peek: PeekHeld | undefined): Promise<DashboardState['controlDlq']> {
  if (!peek) return null;
  try {
    const held = await peek();
    return { ...held, message: describeHeld(held) };
  } catch (error) {
    return { error: `could not peek control-dlq: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * What the page shows, read through bounded, indexed queries whatever the history holds: the newest
 * runs (of one partition: index partition, createdAt desc), their running phases' completion counts,
 * the oldest open queue entries (index status, firstFailedAt) and how many are open.
 */
export async function dashboardState(
  store: DocumentStore,
  _definition: LoadedDefinition,
  options: { partition?: string; limit?: number; now: Date; controlDlq?: PeekHeld },
): Promise<DashboardState> {
  const [runDocs, entryDocs, queueOpen, pause, held, backfills] = await Promise.all([
    store.query(COLLECTIONS.runs, {
      filters: options.partition ? [{ field: 'partition', op: '==', value: options.partition }] : [],
      orderBy: { field: 'createdAt', direction: 'desc' },
      limit: options.limit ?? DASHBOARD_RUNS,
    }),
    store.query(COLLECTIONS.queue, oldestOpenEntriesQuery(DASHBOARD_QUEUE_ENTRIES)),
    countOpenEntries(store),
    readPause(store),
    heldCounts(store),
    recentBackfills(store),
  ]);
  const runs = await Promise.all(parseRuns(runDocs).map((run) => summarise(store, run)));
  runs.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const queue = parseEntries(entryDocs).map((e) => ({
    requestId: e.requestId,
    status: e.status,
    errorType: e.errorType,
    lastError: e.lastError,
    runId: e.runId,
    partition: e.partition,
    phase: e.phase,
    processor: e.processor,
    retryCount: e.retryCount,
    nextRetryAt: e.nextRetryAt,
    action: actionNeeded(e.status, e.errorReason, e.awaitingGate),
  }));
  return {
    generatedAt: options.now.toISOString(),
    runs,
    controlDlq: await controlDlqState(options.controlDlq),
    queue,
    queueOpen,
    control: { ...pause, held },
    backfills: backfills.map((b) => {
      const figures = backfillFigures(b, options.now);
      return { ...b, ...figures, eta: formatEta(figures.etaSeconds) };
    }),
  };
}

/** A run's event timeline, oldest first, with each request's attempts together. */
export async function runTimeline(
  store: DocumentStore,
  runId: string,
): Promise<{ run: RunDoc | null; events: Record<string, unknown>[] }> {
  const run = (await readRun(store, runId)) ?? null;
  const events = (
    await store.query(COLLECTIONS.events, { filters: [{ field: 'runId', op: '==', value: runId }] })
  )
    .map((e) => e.data)
    .sort((a, b) => String(a.at).localeCompare(String(b.at)));
  return { run, events };
}
