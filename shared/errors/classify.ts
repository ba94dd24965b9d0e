import { assertNever } from '../lib/assert-never.ts';

/** What a failure means for delivery. The one vocabulary every path decides on. */
export const ERROR_KINDS = ['transient', 'not_ready', 'permanent', 'bug'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export interface Classification {
  kind: ErrorKind;
  /** Short machine-readable reason: `http_503`, `grpc_UNAVAILABLE`, `ECONNRESET`, `validation`... */
  reason: string;
  /** Set when the other side said how long to wait. */
  retryAfterMs?: number;
}

/** gRPC status codes by number, as @google-cloud clients report them in `code`. */
const GRPC_CODE_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;
type GrpcCodeName = (typeof GRPC_CODE_NAMES)[number];

const TRANSIENT_GRPC: ReadonlySet<GrpcCodeName> = new Set<GrpcCodeName>([
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'RESOURCE_EXHAUSTED',
  'ABORTED',
  'INTERNAL',
  'CANCELLED',
  'UNKNOWN',
]);

/** Node and undici network failures: the connection, not the request, went wrong. */
const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** Programming errors: retrying the same code on the same input fails the same way. */
const BUG_NAMES: ReadonlySet<string> = new Set([
  'TypeError',
  'ReferenceError',
  'RangeError',
  'SyntaxError',
  'AssertionError',
]);

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function httpStatusOf(error: unknown): number | undefined {
  for (const candidate of [
    field(error, 'status'),
    field(error, 'statusCode'),
    field(field(error, 'response'), 'status'),
  ]) {
    if (typeof candidate === 'number' && candidate >= 100 && candidate <= 599) return candidate;
  }
  return undefined;
}

function grpcCodeOf(error: unknown): GrpcCodeName | undefined {
  const code = field(error, 'code');
  if (typeof code === 'number' && Number.isInteger(code)) return GRPC_CODE_NAMES[code];
  if (typeof code === 'string' && (GRPC_CODE_NAMES as readonly string[]).includes(code))
    return code as GrpcCodeName;
  return undefined;
}

function networkCodeOf(error: unknown): string | undefined {
  const code = field(error, 'code');
  return typeof code === 'string' && TRANSIENT_NETWORK_CODES.has(code) ? code : undefined;
}

/** Milliseconds from a Retry-After header value: delta-seconds or an HTTP date. */
export function parseRetryAfter(
  header: string | null | undefined,
  now: Date = new Date(),
): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}

function classifyHttp(status: number, retryAfterMs: number | undefined): Classification {
  const reason = `http_${status}`;
  if (status === 408 || status === 429 || status >= 500) {
    return retryAfterMs === undefined
      ? { kind: 'transient', reason }
      : { kind: 'transient', reason, retryAfterMs };
  }
  return { kind: 'permanent', reason };
}

function classifyOne(error: unknown): Classification | undefined {
  const name = field(error, 'name');
  switch (name) {
    case 'NotReadyError':
      return {
        kind: 'not_ready',
        reason:
          field(error, 'waitingFor') === 'earlier_partitions'
            ? 'earlier_partitions_missing'
            : 'source_not_published',
      };
    case 'RetryAfterError': {
      const retryAfterMs = field(error, 'retryAfterMs');
      return typeof retryAfterMs === 'number'
        ? { kind: 'transient', reason: 'retry_after', retryAfterMs }
        : { kind: 'transient', reason: 'retry_after' };
    }
    case 'TransientError':
      return { kind: 'transient', reason: 'transient' };
    case 'ValidationError':
    case 'ZodError':
      return { kind: 'permanent', reason: 'validation' };
    case 'PermanentError':
      return { kind: 'permanent', reason: 'permanent' };
    case 'TimeoutError':
    case 'AbortError':
      return { kind: 'transient', reason: 'timeout' };
    default:
      break;
  }
  const status = httpStatusOf(error);
  if (status !== undefined) {
    const retryAfter = field(error, 'retryAfterMs');
    return classifyHttp(status, typeof retryAfter === 'number' ? retryAfter : undefined);
  }
  const network = networkCodeOf(error);
  if (network !== undefined) return { kind: 'transient', reason: network };
  const grpc = grpcCodeOf(error);
  if (grpc !== undefined && grpc !== 'OK') {
    return { kind: TRANSIENT_GRPC.has(grpc) ? 'transient' : 'permanent', reason: `grpc_${grpc}` };
  }
  return undefined;
}

/**
 * Maps any thrown value to what it means for delivery. Walks the `cause` chain first,
 * because `fetch` reports a reset connection as `TypeError: fetch failed` with the real
 * reason in `cause`. An error nobody recognises is transient: bounded redelivery, the DLQ
 * and the queue's maxRetries stop it, and nothing is dropped on a guess.
 */
export function classify(error: unknown): Classification {
  const seen = new Set<unknown>();
  for (
    let current: unknown = error;
    current !== undefined && current !== null && !seen.has(current);
    current = field(current, 'cause')
  ) {
    seen.add(current);
    const found = classifyOne(current);
    if (found) return found;
  }
  const name = field(error, 'name');
  if (typeof name === 'string' && BUG_NAMES.has(name)) return { kind: 'bug', reason: name };
  return { kind: 'transient', reason: 'unclassified' };
}

/** What the phase runtime does with a classified failure. */
export type FailureAction = 'redeliver' | 'wait_for_source' | 'fail_permanent';

export function actionFor(kind: ErrorKind): FailureAction {
  switch (kind) {
    case 'transient':
      return 'redeliver';
    case 'not_ready':
      return 'wait_for_source';
    case 'permanent':
    case 'bug':
      return 'fail_permanent';
    default:
      return assertNever(kind);
  }
}
