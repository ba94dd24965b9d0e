import type { DashboardAuth } from './auth.ts';
import { isLocalHost, json, type DashboardRequest, type DashboardResponse } from './http.ts';

const hostOf = (url: string): string | undefined => {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
};

/**
 * Where the page itself may be served from, as an `Origin` host: this machine (`gcloud run
 * services proxy`, the local stack), and the dashboard's own address (its audiences behind IAM;
 * the request's Host otherwise). A page elsewhere, also one whose name was rebound to
 * 127.0.0.1 to reach the proxy, has another origin.
 */
function isOwnOrigin(origin: string, req: DashboardRequest, auth: DashboardAuth): boolean {
  const host = hostOf(origin);
  if (!host) return false;
  if (isLocalHost(host)) return true;
  const own = auth.mode === 'iam' ? auth.audiences.map(hostOf) : [req.headers.host];
  return own.includes(host);
}

/**
 * Acting changes the queue: only the page itself may ask. A JSON body (a cross-site form cannot
 * send one without a CORS preflight, which is never granted); a browser's `Sec-Fetch-Site` of
 * same-origin; and a browser's `Origin` (sent with every POST) one of the page's own.
 * Neither header: not a browser (curl with a token).
 */
export function crossSiteRefusal(req: DashboardRequest, auth: DashboardAuth): DashboardResponse | null {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json')
    return json(415, {
      error: 'unsupported_media_type',
      message: `actions take a JSON body (content-type: application/json), not ${type || 'no content type'}`,
    });
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin')
    return json(403, { error: 'forbidden', message: `cross-site request refused (Sec-Fetch-Site: ${site})` });
  const origin = req.headers.origin;
  if (origin === undefined)
    return site === undefined
      ? null
      : json(403, { error: 'forbidden', message: 'a browser request without Origin is refused' });
  return isOwnOrigin(origin, req, auth)
    ? null
    : json(403, { error: 'forbidden', message: `cross-site request refused (Origin: ${origin})` });
}
