import { describeError } from '../errors/describe.ts';
import type { ProcessorRequest } from '../messages/messages.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { DocumentStore } from '../ports/store.ts';
import { renewLease } from './processor-runs.ts';

/**
 * A running attempt holds a short lease and renews it every third of it while its process lives,
 * never past the function's timeout. A killed attempt renews nothing, so a redelivery takes the
 * request over within this, not within the whole timeout (measured: a 90 s lease outlived the
 * 5 deliveries of a 5-60 s backoff and a queue retry's 48-72 s backoff, so a kill cost a dead
 * letter and then retries that found the lease still held).
 */
export const DEFAULT_LEASE_MS = 30_000;

/** The lease an attempt takes: `leaseMs` (default {@link DEFAULT_LEASE_MS}), at most the timeout. */
export function attemptLeaseMs(leaseMs: number | undefined, timeoutMs: number): number {
  if (leaseMs !== undefined && !(leaseMs > 0))
    throw new Error(`leaseMs must be a positive number of milliseconds, got ${leaseMs}`);
  return Math.min(leaseMs ?? DEFAULT_LEASE_MS, timeoutMs);
}

export interface HeldLease {
  request: ProcessorRequest;
  attempt: number;
  started: Date;
  leaseMs: number;
  /** The function's timeout: no renewal reaches past `started` plus this. */
  timeoutMs: number;
  logger: Logger;
}

/**
 * Renews an attempt's lease while it runs, one renewal at a time (a slow one is never overtaken
 * by a later one, so the lease never moves back). Returns the function that stops renewing and
 * waits for a renewal still in flight, so none lands after the attempt's outcome.
 */
export function holdLease(
  deps: { store: DocumentStore; clock: Clock },
  lease: HeldLease,
): () => Promise<void> {
  const { request, attempt, leaseMs, logger } = lease;
  const timeoutAt = lease.started.getTime() + lease.timeoutMs;
  let stopped = false;
  let inFlight: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(renew, leaseMs / 3);
    timer.unref();
  };
  const renew = () => {
    const now = deps.clock.now().getTime();
    if (stopped || now >= timeoutAt) return;
    inFlight = renewLease(
      deps.store,
      request.requestId,
      attempt,
      new Date(Math.min(now + leaseMs, timeoutAt)),
    ).then(
      (held) => held && !stopped && schedule(),
      // A missed renewal is not a failure of the work: the next one may land; if none does, a
      // redelivery takes over after the lease, as after a kill.
      (error: unknown) => {
        logger.warn({ attempt, err: describeError(error).message }, 'lease renewal failed');
        if (!stopped) schedule();
      },
    );
  };
  schedule();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await inFlight;
  };
}
