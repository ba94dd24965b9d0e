import type { PipelineDefinition } from '../definition/schema.ts';
import type { QueueStatus } from './queue-status.ts';

/** Statuses an auto-retry tick picks up when `nextRetryAt` has passed (`retrying`: its retry was lost). */
export const DUE_STATUSES: readonly QueueStatus[] = ['pending', 'waiting', 'retrying'];

/** Statuses a person can still act on; `succeeded`, `discarded` and `superseded` are final. */
export const OPEN_STATUSES: readonly QueueStatus[] = ['pending', 'waiting', 'retrying', 'failed_permanent'];
export const isOpen = (status: unknown): boolean => OPEN_STATUSES.includes(status as QueueStatus);

/** Exponential backoff with ±20% jitter: base * 2^retries, capped. */
export function nextRetryDelayMs(
  queue: PipelineDefinition['queue'],
  retries: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(queue.retryBackoffSeconds * 2 ** retries, queue.maxRetryBackoffSeconds) * 1000;
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** The action a person sees for an entry (dashboard and CLI). */
export function actionNeeded(status: QueueStatus, errorReason?: string, awaitingGate?: boolean): string {
  switch (status) {
    case 'pending':
      return 'Will auto-retry';
    case 'retrying':
      // Its re-run completed: what is left is its phase's gate (which may wait for another processor).
      return awaitingGate ? 'Re-run done, waiting for the gate' : 'Retry in progress';
    case 'waiting':
      return errorReason === 'earlier_partitions_missing'
        ? 'Waiting for earlier partitions'
        : 'Waiting for source';
    case 'failed_permanent':
      return 'NEEDS MANUAL FIX';
    case 'succeeded':
      return 'Recovered';
    case 'discarded':
      return 'Discarded';
    case 'superseded':
      return 'Superseded by a newer run';
    case 'cancelled':
      return 'Run cancelled';
  }
}
