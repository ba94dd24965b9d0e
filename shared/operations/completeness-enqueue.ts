import { writeEvent } from '../events/write-event.ts';
import { newTraceparent } from '../messages/fields.ts';
import { makeRequestId, TOPICS, type ProcessorRequest, type RunRequest } from '../messages/messages.ts';
import { runRequestEntryId, runRequestKey } from '../messages/run-request-key.ts';
import type { DocumentStore } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { type RunDoc, readRunOrPassOver } from '../orchestration/run-doc.ts';
import { currentRunId } from '../orchestration/generation.ts';
import { OPEN_STATUSES } from '../recovery/queue-policy.ts';
import { newQueueEntry, readEntryForRewrite, type NewQueueEntry } from '../recovery/queue-entry.ts';
import type { CompletenessDeps, CompletenessReport, MissingPair } from './completeness.ts';

/** The partition's current run (generation.ts): re-runs are for it, never for a run it superseded. */
async function currentRun(store: DocumentStore, partition: string): Promise<RunDoc | undefined> {
  const runId = await currentRunId(store, partition);
  return runId ? await readRunOrPassOver(store, runId) : undefined;
}

/**
 * Makes `entryId` a `pending` queue entry that the auto-retry re-runs, with its `incomplete` event.
 * False when the entry is already open (and not waiting for a manual fix): it is being re-run.
 */
async function openIncompleteEntry(
  store: DocumentStore,
  now: string,
  entryId: string,
  entry: Pick<
    NewQueueEntry,
    'runId' | 'partition' | 'phase' | 'processor' | 'request' | 'retryTarget' | 'lastError'
  >,
): Promise<boolean> {
  return store.transaction(async (tx) => {
    const { existing, replaced } = await readEntryForRewrite(tx, entryId);
    if (existing && OPEN_STATUSES.includes(existing.status) && existing.status !== 'failed_permanent')
      return false;
    const eventId = writeEvent(tx, {
      eventId: `${entryId}--incomplete--${now}`,
      type: 'incomplete',
      at: now,
      runId: entry.runId,
      requestId: entryId,
      partition: entry.partition,
      phase: entry.phase,
      processor: entry.processor,
      attempt: null,
      triggerSource: null,
      traceparent: null,
      parentEventId: null,
      message: entry.lastError,
    });
    const incomplete = {
      ...entry,
      requestId: entryId,
      status: 'pending',
      errorType: 'transient',
      errorReason: 'incomplete',
      errorName: 'Incomplete',
      failureEventId: eventId,
      // A fresh shortfall: the re-runs are counted again from none, its old waits forgotten.
      retryCount: 0,
      waitChecks: 0,
      dependencyResumeKey: null,
      nextRetryAt: now,
    } as const;
    tx.set(COLLECTIONS.queue, entryId, newQueueEntry(incomplete, now, existing, replaced));
    return true;
  });
}

/** Why a missing pair of `run` is not re-run now, or null when it is. */
function deferralReason(run: RunDoc, pair: MissingPair): string | null {
  // A re-run now would run before its phase starts, "complete" short and stand in for the real
  // trigger: the run's own gate decides these documents.
  if (run.status === 'RUNNING') return `run ${run.runId} is still RUNNING (its gate decides)`;
  if (run.status === 'CANCELLED')
    return `run ${run.runId} was cancelled (trigger the partition to run it again)`;
  // No gate of this run would ever check a re-run of a phase it never reached.
  if ((run.phases[pair.phase]?.status ?? 'PENDING') === 'PENDING')
    return `run ${run.runId} never reached phase ${pair.phase} (an earlier phase failed: fix that first)`;
  return null;
}

/**
 * Enqueues what is missing: a run request for each partition that never ran (or whose work cannot be
 * told), and a processor re-run for each missing pair of a finished current run.
 */
export async function enqueueMissing(
  deps: CompletenessDeps,
  missing: MissingPair[],
  missingPartitions: string[],
): Promise<Pick<CompletenessReport, 'enqueued' | 'deferred'>> {
  const now = deps.clock.now().toISOString();
  const enqueued: string[] = [];
  const deferred: CompletenessReport['deferred'] = [];
  const put = async (entryId: string, entry: Parameters<typeof openIncompleteEntry>[3]) => {
    if (await openIncompleteEntry(deps.store, now, entryId, entry)) enqueued.push(entryId);
  };
  const runPartition = async (partition: string, lastError: string) => {
    const message: RunRequest = { partition, triggerSource: 'backfill', requestedBy: 'completeness check' };
    // Keyed like every run-request entry: the run it starts closes it (else it would be re-sent, each
    // run superseding the last).
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
    const reason = deferralReason(run, pair);
    if (reason) {
      deferred.push({
        partition: pair.partition,
        phase: pair.phase,
        processor: pair.processor,
        runId: run.runId,
        reason,
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
