import type { DocumentStore, Transaction } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import type { PipelineEvent } from './pipeline-event.ts';

/** Sets the event in a transaction (its id is its identity: a redelivery overwrites its own event). */
export function writeEvent(tx: Pick<Transaction, 'set'>, event: PipelineEvent): string {
  tx.set(COLLECTIONS.events, event.eventId, { ...event });
  return event.eventId;
}

/** Writes the event on its own. */
export async function appendEvent(store: Pick<DocumentStore, 'set'>, event: PipelineEvent): Promise<void> {
  await store.set(COLLECTIONS.events, event.eventId, { ...event });
}

/** The fields of an event about a run as a whole (no request, processor or attempt). */
export function runEventFields(input: {
  runId: string;
  partition: string;
  phase: string;
  triggerSource: string | null;
  traceparent: string | null;
  parentEventId?: string | null;
}): Pick<
  PipelineEvent,
  | 'runId'
  | 'requestId'
  | 'partition'
  | 'phase'
  | 'processor'
  | 'attempt'
  | 'triggerSource'
  | 'traceparent'
  | 'parentEventId'
> {
  return {
    runId: input.runId,
    requestId: null,
    partition: input.partition,
    phase: input.phase,
    processor: null,
    attempt: null,
    triggerSource: input.triggerSource,
    traceparent: input.traceparent,
    parentEventId: input.parentEventId ?? null,
  };
}
