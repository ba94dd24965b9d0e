/** The dashboard's HTTP shapes: what functions-entry hands in, and what it writes back. */
export interface DashboardRequest {
  method: string;
  path: string;
  query: Record<string, string | undefined>;
  headers: Record<string, string | undefined>;
  body: unknown;
}

export interface DashboardResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const json = (
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): DashboardResponse => ({
  status,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  body: JSON.stringify(value),
});

/** A path segment's value, or undefined when its %-escapes are malformed. */
export function decodedSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export const badPath = (req: DashboardRequest) =>
  json(400, { error: 'bad_request', message: `malformed %-escape in ${req.path}` });

const hostName = (host: string | undefined) => (host ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
/** This machine, by a `Host` or `Origin` host (with or without its port). */
export const isLocalHost = (host: string | undefined) =>
  ['localhost', '127.0.0.1', '::1'].includes(hostName(host));
