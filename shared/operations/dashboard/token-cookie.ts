import { isLocalHost, type DashboardRequest, type DashboardResponse } from './http.ts';

const COOKIE = 'phasegate_token';

/**
 * Token mode: a bearer token or the cookie. A `?token=` is only taken by the page, once (see
 * `tokenLanding`).
 */
export function tokenOf(req: DashboardRequest): string | undefined {
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  const cookie = new RegExp(`(?:^|;\\s*)${COOKIE}=([^;]+)`).exec(req.headers.cookie ?? '')?.[1];
  if (bearer) return bearer;
  if (!cookie) return undefined;
  try {
    return decodeURIComponent(cookie);
  } catch {
    return undefined;
  }
}

/**
 * A link with `?token=` (what an operator is sent) sets the cookie and redirects to the same
 * page without it, so the token stays out of the history, later requests and their logs.
 */
export function tokenLanding(req: DashboardRequest, token: string): DashboardResponse {
  const rest = new URLSearchParams(
    Object.entries(req.query).filter((e): e is [string, string] => e[0] !== 'token' && e[1] !== undefined),
  );
  const secure = isLocalHost(req.headers.host) ? '' : '; Secure';
  return {
    status: 303,
    // A reference of only a query keeps whatever path the dashboard is served under.
    headers: {
      location: `?${rest.toString()}`,
      'cache-control': 'no-store',
      'set-cookie': `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/${secure}`,
    },
    body: '',
  };
}
