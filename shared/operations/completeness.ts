import type { LoadedDefinition } from '../definition/load.ts';
import { newTraceparent } from '../messages/fields.ts';
import { makeRequestId, TOPICS, type ProcessorRequest, type RunRequest } from '../messages/messages.ts';
import type { Clock } from '../ports/clock.ts';
import type { DocumentStore } from '../ports/store.ts';
import type { ReadStore } from '../runtime/processor.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import type { RunDoc } from '../orchestration/run-doc.ts';
import { currentRunId } from '../orchestration/generation.ts';
import { runRequestEntryId, runRequestKey } from '../messages/run-request-key.ts';
import { OPEN_STATUSES } from '../recovery/queue-policy.ts';

/**
 * One document a partition must hold, and the processor that writes it. A pipeline types `P` and
 * `R` by its definition (`PhaseIdOf<typeof def>`, `ProcessorNameOf<typeof def>`): a rule naming a
 * phase or processor the definition does not have is then a compile error, not a silent miss.
 */
export interface ExpectedDoc<P extends string = string, R extends string = string> {
  phase: P;
  processor: R;
  collection: string;
  id: string;
  /**
   * The unit of the partition this document belongs to (an item, a record of the source), or null
   * for a partition-level output: completeness counts units whose documents are all present.
   */
  unit: string | null;
}

/** The pipeline's part: which partitions of a range have work, and what each must hold. */
export interface CompletenessRules<P extends string = string, R extends string = string> {
  /** The partitions of `from` … `to` that have work; every partition of the range when absent. */
  partitions?(from: string, to: string): Promise<string[]>;
  /** Null when what tells the partition's work is itself missing (its first phase never ran). */
  expectedDocs(partition: string, store: ReadStore): Promise<ExpectedDoc<P, R>[] | null>;
}

export interface MissingPair {
  partition: string;
  phase: string;
  processor: string;
  missing: { collection: string; id: string; unit: string | null }[];
}

export interface CompletenessReport {
  from: string;
  to: string;
  partitions: number;
  /** Per phase: units (or the partition, for a partition-level output) with every document present, of all units. */
  perPhase: Record<string, { complete: number; total: number }>;
  /** Partitions whose work cannot be told (their first phase never ran): nothing of them can be checked. */
  missingPartitions: string[];
  missing: MissingPair[];
  enqueued: string[];
  /**
   * Pairs not enqueued: the partition's current run is still RUNNING (it may yet write them), or never
   * started their phase (an earlier phase failed: that is what to fix first). Check again after.
   */
  deferred: { partition: string; phase: string; processor: string; runId: string; reason: string }[];
}

export interface CompletenessDeps {
  definition: LoadedDefinition;
  rules: CompletenessRules;
  store: DocumentStore;
  clock: Clock;
}

/** The partition's current run (generation.ts): re-runs are for it, never for a run it superseded. */
async function currentRun(store: DocumentStore, partition: string): Promise<RunDoc | undefined> {
  const runId = await currentRunId(store, partition);
  return runId ? ((await store.get(COLLECTIONS.runs, runId)) as RunDoc | undefined) : undefined;
}

/**
 * Compares what must exist with what exists, unit by unit, over a range of partitions. With
 * `enqueue`, each missing (partition, processor) pair becomes a `pending` queue entry that the
 * auto-retry re-runs (a partition whose first phase never ran becomes a run request).
 */
export async function checkCompleteness(
  deps: CompletenessDeps,
  range: { from: string; to: string; enqueue: boolean },
): Promise<CompletenessReport> {
  // The pipeline's own list of partitions with work, else every key of the range (a scheme that
  // cannot step says so). Either way both ends are keys of the scheme.
  const { scheme } = deps.definition;
  const partitions = deps.rules.partitions
    ? await deps.rules.partitions(scheme.parse(range.from), scheme.parse(range.to))
    : scheme.range(range.from, range.to);
  const perPhase: Record<string, { complete: number; total: number }> = Object.fromEntries(
    deps.definition.phases.map((p) => [p.id, { complete: 0, total: 0 }]),
  );
  const missing: MissingPair[] = [];
  const missingPartitions: string[] = [];
  for (const partition of partitions) {
    const expected = await deps.rules.expectedDocs(partition, deps.store);
    if (!expected) {
      missingPartitions.push(partition);
      for (const phase of deps.definition.phases) perPhase[phase.id]!.total += 1;
      continue;
    }
    const byCollection = new Map<string, ExpectedDoc[]>();
    for (const e of expected) byCollection.set(e.collection, [...(byCollection.get(e.collection) ?? []), e]);
    const absent = new Set<ExpectedDoc>();
    for (const [collection, docs] of byCollection) {
      const found = await deps.store.getMany(
        collection,
        docs.map((d) => d.id),
      );
      docs.forEach((d, i) => found[i] === undefined && absent.add(d));
    }
    for (const phase of deps.definition.phases) {
      const units = new Map<string, boolean>();
      for (const e of expected.filter((x) => x.phase === phase.id))
        units.set(e.unit ?? '*', (units.get(e.unit ?? '*') ?? true) && !absent.has(e));
      perPhase[phase.id]!.total += units.size;
      perPhase[phase.id]!.complete += [...units.values()].filter(Boolean).length;
    }
    const pairs = new Map<string, MissingPair>();
    for (const e of absent) {
      const key = `${e.phase}/${e.processor}`;
      const pair = pairs.get(key) ?? { partition, phase: e.phase, processor: e.processor, missing: [] };
      pair.missing.push({ collection: e.collection, id: e.id, unit: e.unit });
      pairs.set(key, pair);
    }
    missing.push(...pairs.values());
  }
  const { enqueued, deferred } = range.enqueue
    ? await enqueueMissing(deps, missing, missingPartitions)
    : { enqueued: [], deferred: [] };
  return {
    from: range.from,
    to: range.to,
    partitions: partitions.length,
    perPhase,
    missingPartitions,
    missing,
    enqueued,
    deferred,
  };
}

async function enqueueMissing(
  deps: CompletenessDeps,
  missing: MissingPair[],
  missingPartitions: string[],
): Promise<Pick<CompletenessReport, 'enqueued' | 'deferred'>> {
  const now = deps.clock.now().toISOString();
  const enqueued: string[] = [];
  const deferred: CompletenessReport['deferred'] = [];
  const put = async (entryId: string, entry: Record<string, unknown>) => {
    const created = await deps.store.transaction(async (tx) => {
      const existing = await tx.get(COLLECTIONS.queue, entryId);
      if (
        existing &&
        (OPEN_STATUSES as readonly unknown[]).includes(existing.status) &&
        existing.status !== 'failed_permanent'
      )
        return false;
      const eventId = `${entryId}--incomplete--${now}`;
      tx.set(COLLECTIONS.events, eventId, {
        eventId,
        type: 'incomplete',
        at: now,
        runId: entry.runId ?? null,
        requestId: entryId,
        partition: entry.partition,
        phase: entry.phase,
        processor: entry.processor ?? null,
        attempt: null,
        triggerSource: null,
        traceparent: null,
        parentEventId: null,
        message: entry.lastError,
      });
      tx.set(COLLECTIONS.queue, entryId, {
        requestId: entryId,
        status: 'pending',
        errorType: 'transient',
        errorReason: 'incomplete',
        errorName: 'Incomplete',
        stack: null,
        needsManualFix: false,
        originalMessage: null,
        failureEventId: eventId,
        firstFailedAt: existing?.firstFailedAt ?? now,
        lastFailedAt: now,
        occurrences: (typeof existing?.occurrences === 'number' ? existing.occurrences : 0) + 1,
        retryCount: 0,
        nextRetryAt: now,
        deadlineAt: null,
        updatedAt: now,
        ...entry,
      });
      return true;
    });
    if (created) enqueued.push(entryId);
  };
  const runPartition = async (partition: string, lastError: string) => {
    const message: RunRequest = { partition, triggerSource: 'backfill', requestedBy: 'completeness check' };
    // Keyed like every run-request entry: the run it starts closes it (else it would be re-sent, each run superseding the last).
    await put(runRequestEntryId(runRequestKey({ ...message, partition })), {
      runId: null,
      partition,
      phase: 'orchestrator',
      processor: null,
      request: null,
      retryTarget: { topic: TOPICS.runRequests, message },
      lastError,
    });
  };
  for (const partition of missingPartitions)
    await runPartition(partition, `${partition}: what tells its work is missing (its first phase never ran)`);
  const runs = new Map<string, RunDoc | undefined>();
  for (const partition of new Set(missing.map((p) => p.partition)))
    runs.set(partition, await currentRun(deps.store, partition));
  // A partition that never ran is run whole, once: one run per missing processor would each supersede the
  // last, and the one left current would have run a single processor.
  for (const partition of new Set(missing.filter((p) => !runs.get(p.partition)).map((p) => p.partition))) {
    const pairs = missing.filter((p) => p.partition === partition);
    await runPartition(
      partition,
      `${partition} never ran; missing: ${pairs.map((p) => `${p.phase}/${p.processor}`).join(', ')}`,
    );
  }
  for (const pair of missing) {
    const run = runs.get(pair.partition);
    if (!run) continue;
    if (run.status === 'RUNNING') {
      // A re-run now would run before its phase starts, "complete" short and stand in for the real
      // trigger: the run's own gate decides these documents.
      deferred.push({
        partition: pair.partition,
        phase: pair.phase,
        processor: pair.processor,
        runId: run.runId,
        reason: `run ${run.runId} is still RUNNING (its gate decides)`,
      });
      continue;
    }
    if ((run.phases[pair.phase]?.status ?? 'PENDING') === 'PENDING') {
      // No gate of this run would ever check a re-run of a phase it never reached.
      deferred.push({
        partition: pair.partition,
        phase: pair.phase,
        processor: pair.processor,
        runId: run.runId,
        reason: `run ${run.runId} never reached phase ${pair.phase} (an earlier phase failed: fix that first)`,
      });
      continue;
    }
    const lastError = `${pair.missing.length} document(s) missing: ${pair.missing
      .slice(0, 3)
      .map((m) => `${m.collection}/${m.id}`)
      .join(', ')}${pair.missing.length > 3 ? ', ...' : ''}`;
    const requestId = makeRequestId({ runId: run.runId, phase: pair.phase, processor: pair.processor });
    const request: ProcessorRequest = {
      runId: run.runId,
      requestId,
      partition: pair.partition,
      phase: pair.phase,
      processor: pair.processor,
      triggerSource: 'retry',
      parentEventId: null,
      traceparent: newTraceparent(),
    };
    await put(requestId, {
      runId: run.runId,
      partition: pair.partition,
      phase: pair.phase,
      processor: pair.processor,
      request,
      retryTarget: null,
      lastError,
    });
  }
  return { enqueued, deferred };
}
