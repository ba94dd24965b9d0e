import { describe, expect, it } from 'vitest';
import { classify } from '../../shared/errors/classify.ts';
import { createHttpClient } from '../../shared/lib/http-client.ts';

function scripted(responses: (Response | Error)[]) {
  const calls: string[] = [];
  const fetchFn = (url: string | URL | Request) => {
    calls.push(url instanceof Request ? url.url : url.toString());
    const next = responses.shift();
    if (!next) throw new Error('no more scripted responses');
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
  return { calls, fetch: fetchFn };
}

const sleeps: number[] = [];
const sleep = (ms: number) => {
  sleeps.push(ms);
  return Promise.resolve();
};

describe('http client', () => {
  it('retries a 5xx a bounded number of times, then throws a transient HttpError', async () => {
    const s = scripted([
      new Response('a', { status: 503 }),
      new Response('b', { status: 503 }),
      new Response('c', { status: 503 }),
    ]);
    const client = createHttpClient({ fetch: s.fetch, retries: 2, minDelayMs: 1, maxDelayMs: 2, sleep });
    const error = await client.get('http://x/y').catch((e: unknown) => e);
    expect(s.calls).toHaveLength(3);
    expect(classify(error)).toMatchObject({ kind: 'transient', reason: 'http_503' });
  });

  it('waits out a short Retry-After in-process', async () => {
    sleeps.length = 0;
    const s = scripted([
      new Response('slow down', { status: 429, headers: { 'retry-after': '2' } }),
      new Response('ok'),
    ]);
    const client = createHttpClient({ fetch: s.fetch, retries: 2, minDelayMs: 1, maxDelayMs: 2, sleep });
    expect((await client.get('http://x')).text).toBe('ok');
    expect(sleeps).toEqual([2000]);
  });

  it('hands a long Retry-After to redelivery instead of holding the function', async () => {
    const s = scripted([new Response('later', { status: 429, headers: { 'retry-after': '120' } })]);
    const client = createHttpClient({
      fetch: s.fetch,
      retries: 2,
      minDelayMs: 1,
      maxDelayMs: 2,
      maxRetryAfterMs: 5000,
      sleep,
    });
    const error = await client.get('http://x').catch((e: unknown) => e);
    expect(s.calls).toHaveLength(1);
    expect(classify(error)).toEqual({ kind: 'transient', reason: 'retry_after', retryAfterMs: 120_000 });
  });

  it('does not retry a 404', async () => {
    const s = scripted([new Response('nope', { status: 404 })]);
    const client = createHttpClient({ fetch: s.fetch, retries: 2, minDelayMs: 1, maxDelayMs: 2, sleep });
    const error = await client.get('http://x').catch((e: unknown) => e);
    expect(s.calls).toHaveLength(1);
    expect(classify(error)).toMatchObject({ kind: 'permanent', reason: 'http_404' });
  });

  it('retries a reset connection', async () => {
    const s = scripted([
      new TypeError('fetch failed', {
        cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      }),
      new Response('ok'),
    ]);
    const client = createHttpClient({ fetch: s.fetch, retries: 2, minDelayMs: 1, maxDelayMs: 2, sleep });
    expect((await client.get('http://x')).text).toBe('ok');
  });
});
