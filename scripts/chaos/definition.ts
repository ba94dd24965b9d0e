import { referenceDefinitionInput } from '../../functions/pipeline/definition.ts';
import { loadDefinition, type LoadedDefinition } from '../../shared/definition/load.ts';

/** How long one date's run may take, from its request to a final status. */
export const RUN_TIMEOUT_MS = 8 * 60_000;
/** How often a run is read while a date waits for it. */
export const RUN_POLL_MS = 250;
/** How long the logic faults may take to arrive, and the queue to drain after them. */
export const QUIET_TIMEOUT_MS = 6 * 60_000;
/**
 * Short data needs three gate re-runs, backed off 60, 120 and 240 s (the reference queue), before
 * it needs a person.
 */
export const SHORT_DATA_QUIET_TIMEOUT_MS = 14 * 60_000;
/** Longer than the chaos definition's ack deadline (12 s): a slow handler outlives one for real. */
export const SLOW_HANDLER_MS = 15_000;
/** The scrapers' per-request timeout in both runs, and a source response slower than it. */
export const SOURCE_CLIENT_TIMEOUT_MS = 4000;
export const SOURCE_TIMEOUT_DELAY_MS = 5000;

/**
 * The reference definition with short phase ack deadlines, so a slow handler outlives one for
 * real, and a quicker redelivery backoff, so a soak takes minutes.
 */
export function chaosDefinition(): LoadedDefinition {
  const input = structuredClone(referenceDefinitionInput) as unknown as {
    phases: { subscription: Record<string, number>; function: { timeoutSeconds: number } }[];
  };
  for (const phase of input.phases) {
    Object.assign(phase.subscription, {
      ackDeadlineSeconds: 12,
      minBackoffSeconds: 1,
      maxBackoffSeconds: 10,
    });
    phase.function.timeoutSeconds = 11;
  }
  return loadDefinition(input);
}
