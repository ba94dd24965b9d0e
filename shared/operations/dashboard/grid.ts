import type { LoadedDefinition } from '../../definition/load.ts';
import type { DocumentStore } from '../../ports/store.ts';
import { COLLECTIONS } from '../../runtime/collections.ts';
import { parseRuns, type RunDoc } from '../../orchestration/run-doc.ts';

/** The states a cell of the partition grid shows (the page colours each; README lists them). */
export const CELL_STATES = ['succeeded', 'running', 'waiting', 'gate_failed', 'failed', 'not_run'] as const;
export type CellState = (typeof CELL_STATES)[number];

export interface GridRow {
  partition: string;
  /** The partition's newest run (the one that counts); null when it never ran. */
  runId: string | null;
  runStatus: string | null;
  cells: { phase: string; state: CellState }[];
}

export interface PartitionGrid {
  phases: string[];
  rows: GridRow[];
}

/** A grid wider than this is asked for in pieces: each partition is one row on the page. */
export const MAX_GRID_PARTITIONS = 400;
/** Firestore's `in` takes at most 30 values. */
const IN_CHUNK = 30;

export class GridRangeError extends Error {
  override readonly name = 'GridRangeError';
}

/**
 * A phase of a run as a cell: a processor failed for good (queued for a person) is `failed`, one
 * waiting for its data `waiting`; a phase the run has not reached is `waiting` while the run goes
 * on and `not_run` once it ended (cancelled, or stopped by an earlier phase).
 */
export function cellState(run: RunDoc, phase: string): CellState {
  const state = run.phases[phase];
  const failures = Object.values(run.failures).filter((f) => f.phase === phase);
  switch (state?.status) {
    case 'SUCCEEDED':
      return 'succeeded';
    case 'GATE_FAILED':
      return 'gate_failed';
    case 'RUNNING':
      if (failures.some((f) => f.status === 'failed_permanent')) return 'failed';
      if (failures.some((f) => f.status === 'waiting')) return 'waiting';
      if (run.status === 'CANCELLED') return 'not_run';
      return run.status === 'RUNNING' ? 'running' : 'failed';
    default:
      return run.status === 'RUNNING' ? 'waiting' : 'not_run';
  }
}

function newestPerPartition(runs: readonly RunDoc[]): Map<string, RunDoc> {
  const newest = new Map<string, RunDoc>();
  for (const run of runs) {
    const known = newest.get(run.partition);
    if (!known || run.createdAt > known.createdAt) newest.set(run.partition, run);
  }
  return newest;
}

/**
 * The grid of `partitions` (in the pipeline's order) by phases, from each partition's newest run:
 * one `in` query per 30 partitions (index: the single field partition), whatever else the history holds.
 */
export async function partitionGrid(
  store: DocumentStore,
  definition: LoadedDefinition,
  partitions: readonly string[],
): Promise<PartitionGrid> {
  if (partitions.length > MAX_GRID_PARTITIONS)
    throw new GridRangeError(
      `${partitions.length} partitions asked for: the grid shows at most ${MAX_GRID_PARTITIONS} at a time`,
    );
  const chunks: string[][] = [];
  for (let i = 0; i < partitions.length; i += IN_CHUNK) chunks.push(partitions.slice(i, i + IN_CHUNK));
  const docs = await Promise.all(
    chunks.map((values) =>
      store.query(COLLECTIONS.runs, { filters: [{ field: 'partition', op: 'in', value: values }] }),
    ),
  );
  const newest = newestPerPartition(parseRuns(docs.flat()));
  const phases = definition.phases.map((p) => p.id);
  const ordered = [...new Set(partitions)].sort((a, b) => definition.scheme.compare(a, b));
  return {
    phases,
    rows: ordered.map((partition) => {
      const run = newest.get(partition);
      return {
        partition,
        runId: run?.runId ?? null,
        runStatus: run?.status ?? null,
        cells: phases.map((phase) => ({ phase, state: run ? cellState(run, phase) : 'not_run' })),
      };
    }),
  };
}

/** The partitions of a range the operator picked, in the scheme's words when it is not one. */
export function gridPartitions(definition: LoadedDefinition, from: string, to: string): string[] {
  try {
    return definition.scheme.range(from, to);
  } catch (error) {
    throw new GridRangeError(error instanceof Error ? error.message : String(error));
  }
}
