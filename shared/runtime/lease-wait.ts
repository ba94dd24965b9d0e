import type { Clock } from '../ports/clock.ts';
import type { BeginResult } from './processor-runs.ts';

/**
 * A delivery that finds its request held by another delivery's lease waits for that lease rather
 * than answering 5xx at once. The holder is either alive (it completes, and this delivery then finds
 * the request completed and acks) or dead (a killed process renews nothing, the lease lapses within
 * `leaseMs`, and this delivery takes the request over). Answering at once burned a delivery attempt
 * per answer: the emulator redelivers a failed push within 1-4 s whatever the retry policy
 * (measured in its log), so the 5 deliveries of a killed attempt's request were spent in 8 s and the
 * request was dead-lettered, to come back minutes later through the queue. After `waitMs` (a live
 * holder still renewing), it answers in_progress as before.
 */
export interface LeaseWait {
  /** How long to wait in all: by default a lease and two polls, at most half the function's timeout. */
  waitMs: number;
  /** How often to look again. */
  pollMs: number;
}

export function leaseWait(leaseMs: number, timeoutMs: number, waitMs?: number): LeaseWait {
  const pollMs = Math.min(1000, leaseMs / 3);
  return { waitMs: waitMs ?? Math.min(leaseMs + 2 * pollMs, timeoutMs / 2), pollMs };
}

/** Claims an attempt (`claim(at)`), waiting while another delivery holds the request; `at` is when the claim that counted was made. */
export async function claimWaitingForLease(
  claim: (at: Date) => Promise<BeginResult>,
  clock: Clock,
  wait: LeaseWait,
): Promise<{ begun: BeginResult; at: Date }> {
  let at = clock.now();
  let begun = await claim(at);
  for (let waited = 0; begun.state === 'in_progress' && waited < wait.waitMs; waited += wait.pollMs) {
    await new Promise((resolve) => setTimeout(resolve, wait.pollMs));
    at = clock.now();
    begun = await claim(at);
  }
  return { begun, at };
}
