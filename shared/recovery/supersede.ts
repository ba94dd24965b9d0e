import { TOPICS, type RunRequest } from '../messages/messages.ts';
import { runRequestEntryId, runRequestKey } from '../messages/run-request-key.ts';
import { type RunDoc, readRunOrPassOver } from '../orchestration/run-doc.ts';
import { chunk, type DocumentStore, type Transaction } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { readEntryOrPassOver, recordTransition, type QueueEntry } from './queue-entry.ts';
import { isOpen } from './queue-policy.ts';

/** For each superseded run among these entries': the run that superseded it (and its document). */
export type Supersessions = Map<string, { currentRunId: string; current: RunDoc | undefined }>;

/** Reads, in the transaction (before any write), which of these entries' runs were superseded, and by what. */
export async function readSupersessions(
  tx: Transaction,
  entries: readonly (QueueEntry | undefined)[],
): Promise<Supersessions> {
  const runIds = [...new Set(entries.flatMap((e) => (e?.runId && isOpen(e.status) ? [e.runId] : [])))];
  const superseded = (
    await Promise.all(
      runIds.map(async (runId) => [runId, (await tx.get(COLLECTIONS.runs, runId))?.supersededBy] as const),
    )
  ).flatMap(([runId, by]) => (typeof by === 'string' ? [[runId, by] as const] : []));
  const currents = new Map(
    await Promise.all(
      [...new Set(superseded.map(([, by]) => by))].map(
        async (id) => [id, await readRunOrPassOver(tx, id)] as const,
      ),
    ),
  );
  return new Map(superseded.map(([runId, by]) => [runId, { currentRunId: by, current: currents.get(by) }]));
}

/**
 * An open entry of a superseded run is never re-run blindly. When the current run runs its
 * processor (the phase and processor are in its plan), it closes as `superseded`: the current run
 * decides, and its own entries say if it fails. When the current run does not (it started at a
 * later phase, or re-ran other processors), the failure is still the partition's: it is re-targeted, as a
 * run request for the partition from that phase with that processor (a new `pending` entry, keyed like
 * every run-request entry, closed when that run starts), and the old entry closes pointing to it.
 */
export function settleSuperseded(
  tx: Transaction,
  entry: QueueEntry,
  by: { currentRunId: string; current: RunDoc | undefined },
  at: string,
): string {
  const processor = entry.processor;
  const covered =
    processor === null ||
    entry.request === null ||
    (by.current?.phases[entry.phase]?.expected.includes(processor) ?? false);
  let note: string;
  if (covered || !entry.partition || !processor) {
    note =
      `run ${entry.runId ?? '-'} was superseded by run ${by.currentRunId}: not re-run; the current run decides ` +
      `${processor ?? entry.phase} (its own queue entries say if it fails)`;
  } else {
    const message: RunRequest = {
      partition: entry.partition,
      triggerSource: 'retry',
      startPhase: entry.phase,
      processors: [processor],
      requestedBy: `re-targeted from ${entry.requestId}`,
    };
    const id = runRequestEntryId(runRequestKey({ ...message, partition: entry.partition }));
    note =
      `run ${entry.runId ?? '-'} was superseded by run ${by.currentRunId}, which does not run ` +
      `${entry.phase}/${processor}: re-targeted to ${id}, a run of ${entry.partition} from ${entry.phase} with ${processor}`;
    const eventId = recordTransition(tx, {
      entry: { ...entry, requestId: id, runId: null },
      type: 'queue_retargeted',
      at,
      from: entry.status,
      to: 'pending',
      message: note,
    });
    tx.set(COLLECTIONS.queue, id, {
      requestId: id,
      status: 'pending',
      errorType: entry.errorType,
      errorReason: entry.errorReason,
      errorName: 'Retargeted',
      lastError: entry.lastError,
      stack: null,
      needsManualFix: false,
      runId: null,
      partition: entry.partition,
      phase: 'orchestrator',
      processor,
      request: null,
      retryTarget: { topic: TOPICS.runRequests, message },
      originalMessage: null,
      failureEventId: eventId,
      firstFailedAt: entry.firstFailedAt,
      lastFailedAt: at,
      occurrences: entry.occurrences ?? 1,
      retryCount: entry.retryCount,
      waitChecks: 0,
      nextRetryAt: at,
      deadlineAt: null,
      note,
      updatedAt: at,
    });
  }
  recordTransition(tx, {
    entry,
    type: 'queue_superseded',
    at,
    from: entry.status,
    to: 'superseded',
    message: note,
  });
  tx.set(
    COLLECTIONS.queue,
    entry.requestId,
    {
      status: 'superseded',
      needsManualFix: false,
      awaitingGate: false,
      nextRetryAt: null,
      note,
      updatedAt: at,
    },
    { merge: true },
  );
  return note;
}

/** Settles these entries where their run was superseded (in one transaction per 100); the ids it changed. */
export async function supersedeEntries(
  store: DocumentStore,
  entryIds: readonly string[],
  at: string,
): Promise<string[]> {
  const changed: string[] = [];
  for (const ids of chunk([...new Set(entryIds)], 100)) {
    // Almost always there is nothing to do: a plain read says so without a transaction.
    if (
      !(await store.getMany(COLLECTIONS.queue, ids)).some(
        (e) => e && isOpen(e.status) && typeof e.runId === 'string',
      )
    )
      continue;
    changed.push(
      ...(await store.transaction(async (tx) => {
        const entries = await Promise.all(ids.map(async (id) => await readEntryOrPassOver(tx, id)));
        const superseded = await readSupersessions(tx, entries);
        return entries.flatMap((entry) => {
          const by = entry?.runId ? superseded.get(entry.runId) : undefined;
          if (!entry || !by || !isOpen(entry.status)) return [];
          settleSuperseded(tx, entry, by, at);
          return [entry.requestId];
        });
      })),
    );
  }
  return changed;
}

/** The open entries of one run, after it was superseded (the start of the newer run calls it). */
export async function sweepSuperseded(store: DocumentStore, at: string, runId: string): Promise<string[]> {
  const open = (
    await store.query(COLLECTIONS.queue, { filters: [{ field: 'runId', op: '==', value: runId }] })
  ).filter((d) => isOpen(d.data.status) && typeof d.data.runId === 'string');
  return open.length
    ? supersedeEntries(
        store,
        open.map((d) => d.id),
        at,
      )
    : [];
}

/**
 * The reconciler's sweep: the open entries of each run superseded since `since` (index runs (status,
 * updatedAt); a superseded run is written no more), for when the start of the newer run did not get
 * to it. It reads the window's superseded runs and their entries, not every open entry of every run.
 */
export async function sweepRecentlySuperseded(
  store: DocumentStore,
  at: string,
  since: string,
): Promise<string[]> {
  const runs = await store.query(COLLECTIONS.runs, {
    filters: [
      { field: 'status', op: '==', value: 'SUPERSEDED' },
      { field: 'updatedAt', op: '>=', value: since },
    ],
  });
  const changed: string[] = [];
  for (const run of runs) changed.push(...(await sweepSuperseded(store, at, run.id)));
  return changed;
}
