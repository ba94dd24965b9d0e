import type { LoadedDefinition } from '../../definition/load.ts';
import type { Clock } from '../../ports/clock.ts';
import type { Logger } from '../../ports/logger.ts';
import type { Publisher } from '../../ports/publisher.ts';
import { z } from 'zod';
import type { DocData, DocumentStore } from '../../ports/store.ts';
import { parseOrPassOver } from '../../store/parse-document.ts';
import type { Notifier } from '../../recovery/notifier.ts';
import { COLLECTIONS } from '../../runtime/collections.ts';
import { parseRunOrPassOver, type RunDoc } from '../run-doc.ts';

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
export const DEPENDENCY_STATUSES = ['queued', 'started', 'done', 'failed'] as const;
export type DependencyStatus = (typeof DEPENDENCY_STATUSES)[number];

/** `partition_dependencies/{partition}`. */
export const DependencyDocSchema = z.looseObject({
  partition: z.string().min(1),
  status: z.enum(DEPENDENCY_STATUSES),
  /** Queue entries (request ids) that wait for this partition: the newest 50. */
  waiters: z.array(z.string()),
  /** How many entries asked for it. */
  waiterCount: z.number().int().optional(),
  requestedAt: z.string(),
  startedAt: z.string().nullable(),
  /** How often a run request was published for it (a lost publish is sent again, up to 3 times). */
  starts: z.number().int().nonnegative(),
  /** The message id of the last run request published for it: its run is the one with that request. */
  messageId: z.string().nullable(),
  /** The run that settled it, and how. */
  runId: z.string().nullable(),
  outcome: z.string().nullable(),
  reason: z.string().nullable(),
  updatedAt: z.string(),
});
export type DependencyDoc = z.infer<typeof DependencyDocSchema>;

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

export const parseDependency = (partition: string, data: DocData | undefined): DependencyDoc | undefined =>
  parseOrPassOver(DependencyDocSchema, COLLECTIONS.dependencies, partition, data);

/** The current run of each partition (run_locks names it), in two batched reads. */
export async function currentRuns(
  store: DocumentStore,
  partitions: readonly string[],
): Promise<Map<string, RunDoc | undefined>> {
  const unique = [...new Set(partitions)];
  if (unique.length === 0) return new Map();
  const locks = await store.getMany(COLLECTIONS.runLocks, unique);
  const runIds = locks.map((l) => (typeof l?.runId === 'string' ? l.runId : null));
  const named = runIds.filter((id): id is string => id !== null);
  const runs = named.length ? await store.getMany(COLLECTIONS.runs, named) : [];
  const byId = new Map(named.map((id, i) => [id, parseRunOrPassOver(id, runs[i])]));
  return new Map(unique.map((p, i) => [p, runIds[i] ? byId.get(runIds[i]) : undefined]));
}
