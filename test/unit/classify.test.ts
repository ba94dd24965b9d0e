import { describe, expect, it } from 'vitest';
import { actionFor, classify, parseRetryAfter, type ErrorKind } from '../../shared/errors/classify.ts';
import {
  HttpError,
  NotReadyError,
  PermanentError,
  RetryAfterError,
  TransientError,
  ValidationError,
} from '../../shared/errors/errors.ts';
import { describeError, MAX_ERROR_MESSAGE_CHARS } from '../../shared/errors/describe.ts';
import { z } from 'zod';

const withCode = (code: unknown, message = 'x') => Object.assign(new Error(message), { code });
const zodError = (() => {
  const r = z.object({ a: z.string() }).safeParse({ a: 1 });
  return r.success ? undefined : r.error;
})();

const cases: [string, unknown, ErrorKind, string][] = [
  ['HTTP 408', new HttpError('u', 408, ''), 'transient', 'http_408'],
  ['HTTP 429', new HttpError('u', 429, ''), 'transient', 'http_429'],
  ['HTTP 500', new HttpError('u', 500, ''), 'transient', 'http_500'],
  ['HTTP 503', new HttpError('u', 503, ''), 'transient', 'http_503'],
  ['HTTP 400', new HttpError('u', 400, ''), 'permanent', 'http_400'],
  ['HTTP 401', new HttpError('u', 401, ''), 'permanent', 'http_401'],
  ['HTTP 403', new HttpError('u', 403, ''), 'permanent', 'http_403'],
  ['HTTP 404', new HttpError('u', 404, ''), 'permanent', 'http_404'],
  [
    'statusCode field',
    Object.assign(new Error('gaxios'), { response: { status: 502 } }),
    'transient',
    'http_502',
  ],
  ['ECONNRESET', withCode('ECONNRESET'), 'transient', 'ECONNRESET'],
  ['ETIMEDOUT', withCode('ETIMEDOUT'), 'transient', 'ETIMEDOUT'],
  [
    'fetch failed with reset cause',
    new TypeError('fetch failed', { cause: withCode('ECONNRESET') }),
    'transient',
    'ECONNRESET',
  ],
  [
    'undici socket',
    new TypeError('fetch failed', { cause: withCode('UND_ERR_SOCKET') }),
    'transient',
    'UND_ERR_SOCKET',
  ],
  [
    'AbortSignal.timeout',
    Object.assign(new Error('timed out'), { name: 'TimeoutError' }),
    'transient',
    'timeout',
  ],
  ['gRPC UNAVAILABLE (14)', withCode(14), 'transient', 'grpc_UNAVAILABLE'],
  ['gRPC DEADLINE_EXCEEDED (4)', withCode(4), 'transient', 'grpc_DEADLINE_EXCEEDED'],
  ['gRPC RESOURCE_EXHAUSTED (8)', withCode(8), 'transient', 'grpc_RESOURCE_EXHAUSTED'],
  ['gRPC ABORTED (10)', withCode(10), 'transient', 'grpc_ABORTED'],
  ['gRPC INTERNAL (13)', withCode(13), 'transient', 'grpc_INTERNAL'],
  ['gRPC INVALID_ARGUMENT (3)', withCode(3), 'permanent', 'grpc_INVALID_ARGUMENT'],
  ['gRPC FAILED_PRECONDITION (9)', withCode(9), 'permanent', 'grpc_FAILED_PRECONDITION'],
  ['gRPC PERMISSION_DENIED (7)', withCode(7), 'permanent', 'grpc_PERMISSION_DENIED'],
  ['gRPC NOT_FOUND (5)', withCode(5), 'permanent', 'grpc_NOT_FOUND'],
  ['gRPC name string', withCode('UNAVAILABLE'), 'transient', 'grpc_UNAVAILABLE'],
  ['TransientError', new TransientError('t'), 'transient', 'transient'],
  ['NotReadyError', new NotReadyError('not yet'), 'not_ready', 'source_not_published'],
  ['PermanentError', new PermanentError('p'), 'permanent', 'permanent'],
  ['ValidationError', new ValidationError('v', []), 'permanent', 'validation'],
  ['ZodError', zodError, 'permanent', 'validation'],
  ['TypeError', new TypeError('x is not a function'), 'bug', 'TypeError'],
  ['ReferenceError', new ReferenceError('y is not defined'), 'bug', 'ReferenceError'],
  [
    'permanent wrapping a transient cause',
    new PermanentError('bad', { cause: withCode(14) }),
    'permanent',
    'permanent',
  ],
  ['unknown error', new Error('mystery'), 'transient', 'unclassified'],
  ['a thrown string', 'boom', 'transient', 'unclassified'],
  [
    'name only, other module copy',
    { name: 'NotReadyError', message: 'x' },
    'not_ready',
    'source_not_published',
  ],
];

describe('classify', () => {
  it.each(cases)('%s', (_label, error, kind, reason) => {
    expect(classify(error)).toMatchObject({ kind, reason });
  });

  it('carries Retry-After from an HTTP 429', () => {
    expect(classify(new HttpError('u', 429, '', 7000))).toEqual({
      kind: 'transient',
      reason: 'http_429',
      retryAfterMs: 7000,
    });
    expect(classify(new RetryAfterError('later', 3000))).toEqual({
      kind: 'transient',
      reason: 'retry_after',
      retryAfterMs: 3000,
    });
  });

  it('maps every kind to exactly one action', () => {
    expect(actionFor('transient')).toBe('redeliver');
    expect(actionFor('not_ready')).toBe('wait_for_source');
    expect(actionFor('permanent')).toBe('fail_permanent');
    expect(actionFor('bug')).toBe('fail_permanent');
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  it.each([
    ['5', 5000],
    ['0', 0],
    ['1.5', 1500],
    ['Thu, 01 Jan 2026 00:00:30 GMT', 30_000],
    ['Wed, 31 Dec 2025 23:00:00 GMT', 0],
  ])('%s -> %d ms', (header, ms) => expect(parseRetryAfter(header, now)).toBe(ms));
  it.each([[null], [''], ['soon']])('%s -> undefined', (header) =>
    expect(parseRetryAfter(header, now)).toBeUndefined(),
  );
});

describe('describeError', () => {
  it('caps the message and keeps causes', () => {
    const d = describeError(new Error('x'.repeat(5000), { cause: new Error('root cause') }));
    expect(d.message.length).toBe(MAX_ERROR_MESSAGE_CHARS);
    expect(describeError(new Error('top', { cause: new Error('root') })).message).toBe(
      'top; caused by Error: root',
    );
  });
  it('never returns an empty message', () => {
    expect(describeError(new Error('')).message).toBe('Error');
    expect(describeError(undefined).message).not.toBe('');
  });
});
