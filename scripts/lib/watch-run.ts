// Publishing a run request and waiting for the run it starts: the command line, the backfill,
// the benchmarks and the chaos soak all wait the same way.
import { TOPICS, type RunRequest } from '../../shared/messages/messages.ts';
import { completedProcessors } from '../../shared/orchestration/phase-completions.ts';
import { parseRun, readRun, type RunDoc } from '../../shared/orchestration/run-doc.ts';
import type { Publisher } from '../../shared/ports/publisher.ts';
import type { DocumentStore } from '../../shared/ports/store.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';

export const FINAL_STATUSES = new Set(['SUCCESS', 'PARTIAL', 'FAILED', 'SUPERSEDED', 'CANCELLED']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One line per phase: `scrape      SUCCEEDED  2/2`. N counts completions, so it moves while a phase runs. */
export async function describeRun(store: DocumentStore, run: RunDoc): Promise<string[]> {
  const lines: string[] = [];
  for (const phase of run.phaseOrder) {
    const state = run.phases[phase];
    if (!state) continue;
    const done = state.status === 'PENDING' ? 0 : (await completedProcessors(store, run.runId, phase)).length;
    lines.push(
      `${phase.padEnd(12)} ${state.status.padEnd(11)} ${Math.min(done, state.expected.length)}/${state.expected.length}`,
    );
  }
  return lines;
}

export interface WatchOptions {
  /** At the deadline the run as last read is returned, final or not. */
  timeoutMs: number;
  /** Called when what the run shows changes (its status, each phase's progress). */
  onChange?: (run: RunDoc, lines: string[]) => void;
  /** How often the run is read: a person watching needs less than a benchmark timing it. */
  pollMs?: number;
  /** Stop waiting once this holds (by default: once the run is final). */
  until?: (run: RunDoc) => boolean;
}

/** Polls a run until it is final (or `until` holds) or `timeoutMs` passes. */
export async function watchRun(
  store: DocumentStore,
  runId: string,
  options: WatchOptions,
): Promise<RunDoc | undefined> {
  const deadline = Date.now() + options.timeoutMs;
  const done = options.until ?? ((r: RunDoc) => FINAL_STATUSES.has(r.status));
  let shown = '';
  let run: RunDoc | undefined;
  while (Date.now() < deadline) {
    run = await readRun(store, runId);
    if (run) {
      if (options.onChange) {
        // Only a watcher pays for the progress counts (a query per phase).
        const lines = await describeRun(store, run);
        const key = `${run.status}|${lines.join('|')}`;
        if (key !== shown) {
          shown = key;
          options.onChange(run, lines);
        }
      }
      if (done(run)) return run;
    }
    await sleep(options.pollMs ?? 400);
  }
  return run;
}

/**
 * The run a RunRequest started, found by the message id `publish` returned. The limit is
 * generous: on a busy machine the orchestrator's first request also loads its clients.
 */
export async function findRunByMessage(
  store: DocumentStore,
  messageId: string,
  timeoutMs = 120_000,
  pollMs = 200,
): Promise<RunDoc | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [found] = await store.query(COLLECTIONS.runs, {
      filters: [{ field: 'requestMessageId', op: '==', value: messageId }],
      limit: 1,
    });
    if (found) return parseRun(found.id, found.data);
    await sleep(pollMs);
  }
  return undefined;
}

export interface RequestedRun {
  messageId: string;
  /** The run as last read: undefined when none started in time, not final when it outlasted the wait. */
  run: RunDoc | undefined;
}

/**
 * Publishes a RunRequest and waits for the run it starts, `timeoutMs` from the publish in all
 * (`findTimeoutMs`, when shorter, bounds how long the run may take to appear).
 */
export async function publishRunAndWait(
  deps: { store: DocumentStore; publisher: Publisher },
  request: RunRequest,
  options: WatchOptions & { findTimeoutMs?: number },
): Promise<RequestedRun> {
  const { findTimeoutMs, ...watch } = options;
  const messageId = await deps.publisher.publish(TOPICS.runRequests, request);
  const deadline = Date.now() + watch.timeoutMs;
  const started = await findRunByMessage(
    deps.store,
    messageId,
    Math.min(findTimeoutMs ?? watch.timeoutMs, watch.timeoutMs),
    watch.pollMs,
  );
  if (!started) return { messageId, run: undefined };
  const run = await watchRun(deps.store, started.runId, {
    ...watch,
    timeoutMs: Math.max(0, deadline - Date.now()),
  });
  return { messageId, run: run ?? started };
}

/** `RUNNING  scrape ✓ 2/2 · raw … 1/2 · analytics · 0/2`: one line a change. */
export function summaryLine(run: RunDoc, lines: string[]): string {
  const marks: Record<string, string> = { SUCCEEDED: '✓', RUNNING: '…', PENDING: '·', GATE_FAILED: '✗' };
  const phases = lines.map((l) => {
    const [phase, status, progress] = l.trim().split(/\s+/);
    return `${phase} ${marks[status ?? ''] ?? '?'} ${progress}`;
  });
  return `${run.status.padEnd(8)} ${phases.join(' · ')}`;
}
