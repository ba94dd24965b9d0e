// After the dates ran: wait for what was injected to arrive and for the pipeline to go quiet,
// then read what the verdict is drawn from.
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import type { HeldMessages } from '../../shared/ports/held-messages.ts';
import type { DocumentStore } from '../../shared/ports/store.ts';
import { peekControlDlq } from '../lib/control-dlq.ts';
import type { ChaosContext } from './context.ts';
import { QUIET_TIMEOUT_MS, SHORT_DATA_QUIET_TIMEOUT_MS } from './definition.ts';
import type { LogicFaults } from './logic-faults.ts';
import type { Pipeline } from './pipeline.ts';

export interface RunRow {
  partition: string;
  status: string;
  runId: string;
  triggerSource: string;
}

export interface QueueRow {
  id: string;
  status: string;
  lastError: string;
  runId: string | null;
  partition: string | null;
  errorReason?: string;
}

export interface FinalState {
  allRuns: RunRow[];
  /** A date's current run (run_locks names it): an older run of it is history. */
  current: Map<string, RunRow | undefined>;
  queue: QueueRow[];
  /** The processor_failed events. */
  failures: { message?: string; partition?: string }[];
  held: HeldMessages;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The queue entry of a message that never parsed as a request. */
export const messageEntryId = (messageId: string): string => `msg-${messageId}`;

/** The dead-letter recorder saw the request's dead letter. */
export async function wasDeadLettered(store: DocumentStore, requestId: string): Promise<boolean> {
  const events = await store.query(COLLECTIONS.events, {
    filters: [{ field: 'requestId', op: '==', value: requestId }],
  });
  return events.some((e) => e.data.type === 'dead_lettered');
}

/** Each logic fault leaves a queue entry or an event once it arrived: wait for those, not a fixed time. */
export async function waitForArrivals(ctx: ChaosContext, p: Pipeline, faults: LogicFaults): Promise<void> {
  const arrivals = [
    ...[...faults.oversized, ...faults.slashed].map((id) => ({
      collection: COLLECTIONS.queue,
      id: messageEntryId(id),
    })),
    ...(faults.relativeEntry ? [{ collection: COLLECTIONS.queue, id: faults.relativeEntry }] : []),
  ];
  const deadline = Date.now() + QUIET_TIMEOUT_MS;
  const arrived = async () =>
    (await Promise.all(arrivals.map(async (a) => Boolean(await p.store.get(a.collection, a.id))))).every(
      Boolean,
    ) &&
    (!faults.lateRequestId || (await wasDeadLettered(p.store, faults.lateRequestId)));
  const from = Date.now();
  while (!(await arrived()) && Date.now() < deadline) await sleep(1000);
  ctx.say(`  logic faults arrived in ${Math.round((Date.now() - from) / 1000)} s`);
}

/** Quiet: nothing left to retry (the scheduler's ticks finish what the runs left), every run final. */
export async function waitForQuiet(ctx: ChaosContext, p: Pipeline, shortDate: string | null): Promise<void> {
  const from = Date.now();
  const deadline = Date.now() + (shortDate ? SHORT_DATA_QUIET_TIMEOUT_MS : QUIET_TIMEOUT_MS);
  for (;;) {
    const open = (
      await p.store.query(COLLECTIONS.queue, {
        filters: [{ field: 'status', op: 'in', value: ['pending', 'retrying', 'waiting'] }],
      })
    ).length;
    const runs = (
      await p.store.query(COLLECTIONS.runs, { filters: [{ field: 'status', op: '==', value: 'RUNNING' }] })
    ).length;
    if ((open === 0 && runs === 0) || Date.now() > deadline) break;
    await sleep(2000);
  }
  ctx.say(`  quiet after ${Math.round((Date.now() - from) / 1000)} s`);
}

export async function readFinalState(p: Pipeline, dates: readonly string[]): Promise<FinalState> {
  const allRuns = (await p.store.query(COLLECTIONS.runs, {})).map((d) => d.data as unknown as RunRow);
  const locks = new Map(
    (await p.store.query(COLLECTIONS.runLocks, {})).map((d) => [d.id, String(d.data.runId)]),
  );
  const current = new Map(dates.map((d) => [d, allRuns.find((r) => r.runId === locks.get(d))]));
  const queue = (await p.store.query(COLLECTIONS.queue, {})).map(
    (d) => ({ id: d.id, ...d.data }) as unknown as QueueRow,
  );
  const failures = (
    await p.store.query(COLLECTIONS.events, {
      filters: [{ field: 'type', op: '==', value: 'processor_failed' }],
    })
  ).map((d) => d.data as { message?: string; partition?: string });
  const held = await peekControlDlq(p.stack.pubsub);
  return { allRuns, current, queue, failures, held };
}
