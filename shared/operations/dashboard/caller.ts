import { rightsOf, type DashboardAuth, type Right } from './auth.ts';
import { json, type DashboardRequest, type DashboardResponse } from './http.ts';
import { tokenOf } from './token-cookie.ts';

/** Verifies the caller's Google ID token (iam mode): the caller's email, or why not. */
export type VerifyIdToken = (
  headers: Record<string, string | undefined>,
) => Promise<{ ok: true; email: string } | { ok: false; status: number; reason: string }>;

/** Who calls (the token in token mode, the verified email in iam mode) and what they may do. */
export interface Caller {
  caller: string | undefined;
  rights: Right[];
}

/** The caller of a request, or the response refusing its ID token (iam mode). */
export async function identifyCaller(
  auth: DashboardAuth,
  verifyIdToken: VerifyIdToken | undefined,
  req: DashboardRequest,
): Promise<({ ok: true } & Caller) | { ok: false; response: DashboardResponse }> {
  let caller = auth.mode === 'token' ? tokenOf(req) : undefined;
  if (auth.mode === 'iam') {
    if (!verifyIdToken) throw new Error('dashboard iam auth needs an ID token verifier');
    const verdict = await verifyIdToken(req.headers);
    if (!verdict.ok) {
      const forbidden = verdict.status === 403;
      const response = json(
        forbidden ? 403 : 401,
        { error: forbidden ? 'forbidden' : 'unauthorized', message: verdict.reason },
        { 'www-authenticate': 'Bearer' },
      );
      return { ok: false, response };
    }
    caller = verdict.email;
  }
  return { ok: true, caller, rights: rightsOf(auth, caller) };
}

/** The response refusing a caller without `right`, or null when they have it. */
export function rightRefusal(
  auth: DashboardAuth,
  { caller, rights }: Caller,
  right: Right,
): DashboardResponse | null {
  if (rights.includes(right)) return null;
  if (auth.mode === 'iam')
    return json(403, {
      error: 'forbidden',
      message: `${caller ?? 'this caller'} may read, not ${right} (actors: DASHBOARD_ACTORS)`,
    });
  if (rights.length === 0)
    return json(
      401,
      { error: 'unauthorized', message: 'a valid dashboard token is required' },
      { 'www-authenticate': 'Bearer' },
    );
  return json(403, {
    error: 'forbidden',
    message: `this token may ${rights.join(' and ')}, not ${right}`,
  });
}
