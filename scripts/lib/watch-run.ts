import type { DocumentStore } from '../../shared/ports/store.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import type { RunDoc } from '../../shared/orchestration/run-doc.ts';

export const FINAL_STATUSES = new Set(['SUCCESS', 'PARTIAL', 'FAILED', 'SUPERSEDED']);

/** One line per phase: `scrape      SUCCEEDED  2/2`. N counts completions, so it moves while a phase runs. */
export async function describeRun(store: DocumentStore, run: RunDoc): Promise<string[]> {
  const lines: string[] = [];
  for (const phase of run.phaseOrder) {
    const state = run.phases[phase];
    if (!state) continue;
    const done =
      state.status === 'PENDING'
        ? 0
        : await store.countWhere(COLLECTIONS.runCompletions, [
            { field: 'runId', op: '==', value: run.runId },
            { field: 'phase', op: '==', value: phase },
          ]);
    lines.push(
      `${phase.padEnd(12)} ${state.status.padEnd(11)} ${Math.min(done, state.expected.length)}/${state.expected.length}`,
    );
  }
  return lines;
}

/** Polls a run until it is final or `timeoutMs` passes, calling `onChange` when what it shows changes. */
export async function watchRun(
  store: DocumentStore,
  runId: string,
  options: { timeoutMs: number; onChange: (run: RunDoc, lines: string[]) => void },
): Promise<RunDoc | undefined> {
  const deadline = Date.now() + options.timeoutMs;
  let shown = '';
  let run: RunDoc | undefined;
  while (Date.now() < deadline) {
    run = (await store.get(COLLECTIONS.runs, runId)) as RunDoc | undefined;
    if (run) {
      const lines = await describeRun(store, run);
      const key = `${run.status}|${lines.join('|')}`;
      if (key !== shown) {
        shown = key;
        options.onChange(run, lines);
      }
      if (FINAL_STATUSES.has(run.status)) return run;
    }
    await new Promise((r) => setTimeout(r, 400));
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
): Promise<RunDoc | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [found] = await store.query(COLLECTIONS.runs, {
      filters: [{ field: 'requestMessageId', op: '==', value: messageId }],
      limit: 1,
    });
    if (found) return found.data as unknown as RunDoc;
    await new Promise((r) => setTimeout(r, 200));
  }
  return undefined;
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
