/** The statuses of a failed-processor queue entry (the public contract: README, Public contract). */
export const QUEUE_STATUSES = [
  'pending',
  'waiting',
  'retrying',
  'succeeded',
  'failed_permanent',
  'discarded',
  'superseded',
  'cancelled',
] as const;
export type QueueStatus = (typeof QUEUE_STATUSES)[number];
