import type { FUNCTION_MEMORY_MB } from './schema.ts';

/**
 * How Pub/Sub redelivers a phase's failed push: backoff from 5 to 60 s, then the phase's
 * dead-letter topic after 5 deliveries (Pub/Sub's minimum: the long tail belongs to the
 * failed-processor queue, not to redelivery).
 */
export const STANDARD_REDELIVERY = {
  minBackoffSeconds: 5,
  maxBackoffSeconds: 60,
  maxDeliveryAttempts: 5,
} as const;

/** Seconds the ack deadline lies above the function's timeout: room for a cold start and the ack itself. */
export const ACK_DEADLINE_MARGIN_SECONDS = 30;

export interface StandardPhaseSettingsOptions {
  /** The function's worst case, in seconds. */
  timeoutSeconds: number;
  memoryMb: (typeof FUNCTION_MEMORY_MB)[number];
  /** A phase RUNNING longer than this is stalled. */
  expectedDurationSeconds: number;
}

/**
 * A phase's subscription, function and stall settings, to spread into a phase of a definition:
 * `STANDARD_REDELIVERY`, and an ack deadline `ACK_DEADLINE_MARGIN_SECONDS` above the timeout, so
 * a slow run is never redelivered while it still runs. A phase that needs other values writes
 * the three fields itself.
 */
export function standardPhaseSettings({
  timeoutSeconds,
  memoryMb,
  expectedDurationSeconds,
}: StandardPhaseSettingsOptions) {
  return {
    subscription: {
      ackDeadlineSeconds: timeoutSeconds + ACK_DEADLINE_MARGIN_SECONDS,
      ...STANDARD_REDELIVERY,
    },
    function: { timeoutSeconds, memoryMb },
    expectedDurationSeconds,
  };
}
