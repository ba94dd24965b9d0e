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

/** One document a date must have, and who writes it. `gameId` null: a date-level output. */
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
  gameId: string | null;
}

/** The pipeline's part: which dates have games, and what each date must hold. */
export interface CompletenessRules<P extends string = string, R extends string = string> {
  gameDates(from: string, to: string): Promise<string[]>;
  /** Null when the date's schedule itself is missing (the date was never scraped). */
  expectedDocs(gameDate: string, store: ReadStore): Promise<ExpectedDoc<P, R>[] | null>;
}

export interface MissingPair {
  gameDate: string;
  phase: string;
  processor: string;
  missing: { collection: string; id: string; gameId: string | null }[];
}

export interface CompletenessReport {
  from: string;
  to: string;
  dates: number;
  /** Per phase: units (games, or the date for a date-level output) with every document present, of all units. */
  perPhase: Record<string, { complete: number; total: number }>;
  /** Dates whose schedule is missing: nothing of them can be checked. */
  missingDates: string[];
  missing: MissingPair[];
  enqueued: string[];
  /**
   * Pairs not enqueued: the date's current run is still RUNNING (it may yet write them), or never
   * started their phase (an earlier phase failed: that is what to fix first). Check again after.
   */
  deferred: { gameDate: string; phase: string; processor: string; runId: string; reason: string }[];
}

export interface CompletenessDeps {
  definition: LoadedDefinition;
  rules: CompletenessRules;
  store: DocumentStore;
  clock: Clock;
}

/** The date's current run (generation.ts): re-runs are for it, never for a run it superseded. */
async function currentRun(store: DocumentStore, gameDate: string): Promise<RunDoc | undefined> {
  const runId = await currentRunId(store, gameDate);
  return runId ? ((await store.get(COLLECTIONS.runs, runId)) as RunDoc | undefined) : undefined;
}

/**
 * Compares what must exist with what exists, game by game, over a date range. With
 * `enqueue`, each missing (date, processor) pair becomes a `pending` queue entry that the
 * auto-retry re-runs (a date never scraped becomes a run request).
 */
export async function checkCompleteness(
  deps: CompletenessDeps,
  range: { from: string; to: string; enqueue: boolean },
): Promise<CompletenessReport> {
  const dates = await deps.rules.gameDates(range.from, range.to);
  const perPhase: Record<string, { complete: number; total: number }> = Object.fromEntries(
    deps.definition.phases.map((p) => [p.id, { complete: 0, total: 0 }]),
  );
  const missing: MissingPair[] = [];
  const missingDates: string[] = [];
  for (const gameDate of dates) {
    const expected = await deps.rules.expectedDocs(gameDate, deps.store);
    if (!expected) {
      missingDates.push(gameDate);
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
        units.set(e.gameId ?? '*', (units.get(e.gameId ?? '*') ?? true) && !absent.has(e));
      perPhase[phase.id]!.total += units.size;
      perPhase[phase.id]!.complete += [...units.values()].filter(Boolean).length;
    }
    const pairs = new Map<string, MissingPair>();
    for (const e of absent) {
      const key = `${e.phase}/${e.processor}`;
      const pair = pairs.get(key) ?? { gameDate, phase: e.phase, processor: e.processor, missing: [] };
      pair.missing.push({ collection: e.collection, id: e.id, gameId: e.gameId });
      pairs.set(key, pair);
    }
    missing.push(...pairs.values());
  }
  const { enqueued, deferred } = range.enqueue
    ? await enqueueMissing(deps, missing, missingDates)
    : { enqueued: [], deferred: [] };
  return { from: range.from, to: range.to, dates: dates.length, perPhase, missingDates, missing, enqueued, deferred };
}

async function enqueueMissing(
  deps: CompletenessDeps,
  missing: MissingPair[],
  missingDates: string[],
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
        gameDate: entry.gameDate,
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
  const runDate = async (gameDate: string, lastError: string) => {
    const message: RunRequest = { gameDate, triggerSource: 'backfill', requestedBy: 'completeness check' };
    // Keyed like every run-request entry: the run it starts closes it (else it would be re-sent, each run superseding the last).
    await put(runRequestEntryId(runRequestKey({ ...message, gameDate })), {
      runId: null,
      gameDate,
      phase: 'orchestrator',
      processor: null,
      request: null,
      retryTarget: { topic: TOPICS.runRequests, message },
      lastError,
    });
  };
  for (const gameDate of missingDates) await runDate(gameDate, `${gameDate} was never scraped`);
  const runs = new Map<string, RunDoc | undefined>();
  for (const gameDate of new Set(missing.map((p) => p.gameDate)))
    runs.set(gameDate, await currentRun(deps.store, gameDate));
  // A date that never ran is run whole, once: one run per missing processor would each supersede the
  // last, and the one left current would have run a single processor.
  for (const gameDate of new Set(missing.filter((p) => !runs.get(p.gameDate)).map((p) => p.gameDate))) {
    const pairs = missing.filter((p) => p.gameDate === gameDate);
    await runDate(
      gameDate,
      `${gameDate} never ran; missing: ${pairs.map((p) => `${p.phase}/${p.processor}`).join(', ')}`,
    );
  }
  for (const pair of missing) {
    const run = runs.get(pair.gameDate);
    if (!run) continue;
    if (run.status === 'RUNNING') {
      // A re-run now would run before its phase starts, "complete" short and stand in for the real
      // trigger: the run's own gate decides these documents.
      deferred.push({
        gameDate: pair.gameDate,
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
        gameDate: pair.gameDate,
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
      gameDate: pair.gameDate,
      phase: pair.phase,
      processor: pair.processor,
      triggerSource: 'retry',
      parentEventId: null,
      traceparent: newTraceparent(),
    };
    await put(requestId, {
      runId: run.runId,
      gameDate: pair.gameDate,
      phase: pair.phase,
      processor: pair.processor,
      request,
      retryTarget: null,
      lastError,
    });
  }
  return { enqueued, deferred };
}
