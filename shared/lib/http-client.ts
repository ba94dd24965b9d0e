import pRetry, { AbortError } from 'p-retry';
import { classify, parseRetryAfter } from '../errors/classify.ts';
import { HttpError, RetryAfterError } from '../errors/errors.ts';

export interface HttpClientOptions {
  /** Per-request timeout. */
  timeoutMs: number;
  /** In-process retries of transient failures; the long tail belongs to Pub/Sub redelivery. */
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited out in-process: the error goes to redelivery. */
  maxRetryAfterMs: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_HTTP_OPTIONS: HttpClientOptions = {
  timeoutMs: 10_000,
  retries: 2,
  minDelayMs: 200,
  maxDelayMs: 2_000,
  maxRetryAfterMs: 5_000,
};

export interface HttpResponse {
  status: number;
  text: string;
  headers: Headers;
}

export interface HttpClient {
  /** GET, retried with bounded backoff on transient failures; non-2xx is thrown as HttpError. */
  get(url: string): Promise<HttpResponse>;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createHttpClient(overrides: Partial<HttpClientOptions> = {}): HttpClient {
  const options = { ...DEFAULT_HTTP_OPTIONS, ...overrides };
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? sleepFor;

  async function once(url: string): Promise<HttpResponse> {
    const response = await doFetch(url, { signal: AbortSignal.timeout(options.timeoutMs) });
    const text = await response.text();
    if (!response.ok)
      throw new HttpError(url, response.status, text, parseRetryAfter(response.headers.get('retry-after')));
    return { status: response.status, text, headers: response.headers };
  }

  return {
    get(url) {
      return pRetry(
        async () => {
          try {
            return await once(url);
          } catch (error) {
            const outcome = classify(error);
            if (outcome.kind !== 'transient')
              throw new AbortError(error instanceof Error ? error : new Error(String(error)));
            if (outcome.retryAfterMs !== undefined && outcome.retryAfterMs > options.maxRetryAfterMs) {
              // Too long to hold the function: hand the wait to redelivery, keep the cause.
              throw new AbortError(
                new RetryAfterError(
                  `${url} asked to retry after ${outcome.retryAfterMs} ms`,
                  outcome.retryAfterMs,
                  { cause: error },
                ),
              );
            }
            throw error;
          }
        },
        {
          retries: options.retries,
          minTimeout: options.minDelayMs,
          maxTimeout: options.maxDelayMs,
          randomize: true,
          onFailedAttempt: async ({ error }) => {
            const retryAfterMs = classify(error).retryAfterMs;
            if (retryAfterMs !== undefined) await sleep(retryAfterMs);
          },
        },
      );
    },
  };
}
