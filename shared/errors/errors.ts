/**
 * Error classes whose names state their retry meaning. Match on `name` as well as
 * `instanceof`: errors cross module copies and serialisation boundaries.
 */

/** Worth retrying soon: the next delivery may well succeed. */
export class TransientError extends Error {
  override readonly name: string = 'TransientError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Transient, and the other side said when to come back (HTTP Retry-After). */
export class RetryAfterError extends TransientError {
  override readonly name = 'RetryAfterError';
  /** Milliseconds to wait before the next attempt. */
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, options?: { cause?: unknown }) {
    super(message, options);
    this.retryAfterMs = retryAfterMs;
  }
}

/** The source has not published yet: retry on the source's cadence until a deadline, no alert. */
export class NotReadyError extends Error {
  override readonly name = 'NotReadyError';
  /** What is not ready: the source's data, or this pipeline's own earlier partitions (`partitions`). */
  readonly waitingFor: 'source' | 'earlier_partitions';
  readonly partitions: readonly string[];
  constructor(
    message: string,
    options?: {
      cause?: unknown;
      waitingFor?: 'source' | 'earlier_partitions';
      partitions?: readonly string[];
    },
  ) {
    super(message, options);
    this.waitingFor = options?.waitingFor ?? 'source';
    this.partitions = options?.partitions ?? [];
  }
}

/**
 * A processor needs earlier partitions this pipeline has not processed yet (a running total needs
 * the months before): the entry waits for them, naming them, and with `dependencies: 'trigger'` the
 * orchestrator runs them, in order, and resumes this one when they have landed.
 */
export function waitForEarlierPartitions(partitions: readonly string[], why: string): NotReadyError {
  const sorted = [...new Set(partitions)].sort();
  const span =
    sorted.length > 1 ? `${sorted[0]} … ${sorted.at(-1)} (${sorted.length})` : (sorted[0] ?? 'none named');
  return new NotReadyError(`waiting for earlier partitions: ${span}: ${why}`, {
    waitingFor: 'earlier_partitions',
    partitions: sorted,
  });
}

/** Retrying cannot help (bad input, schema, 4xx, missing permission): a person must act. */
export class PermanentError extends Error {
  override readonly name: string = 'PermanentError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A payload or record failed its schema. Permanent; carries the zod issues. */
export class ValidationError extends PermanentError {
  override readonly name = 'ValidationError';
  readonly issues: readonly { path: string; message: string }[];
  constructor(
    message: string,
    issues: readonly { path: string; message: string }[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.issues = issues;
  }
}

/** An HTTP response that was not 2xx. Classified by status. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;
  readonly url: string;
  /** From the Retry-After header, when the server sent one. */
  readonly retryAfterMs: number | undefined;
  readonly body: string;
  constructor(url: string, status: number, body: string, retryAfterMs?: number) {
    super(`HTTP ${status} from ${url}${body ? `: ${body.slice(0, 200)}` : ''}`);
    this.url = url;
    this.status = status;
    this.body = body;
    this.retryAfterMs = retryAfterMs;
  }
}
