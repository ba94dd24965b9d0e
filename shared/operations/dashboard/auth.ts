import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { AuthConfigError, onCloudRun } from '../../adapters/push-auth.ts';

/** Reading and acting are separate rights: a read token sees, only an act token changes the queue. */
export const DashboardAuthSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('off') }),
  z.object({ mode: z.literal('token'), readToken: z.string().min(16), actToken: z.string().min(16) }),
  /**
   * Google identities behind Cloud Run IAM (what deploy sets): `gcloud run services proxy`, or
   * `gcloud auth print-identity-token`. IAM admits only the invoker members (groups and domains
   * included), so any caller it let in may read. Acting needs an email in `actors`: users or
   * service accounts, since a token names one account, never its groups.
   */
  z.object({
    mode: z.literal('iam'),
    audiences: z.array(z.string().min(1)).min(1),
    // Email addresses compare without case, as Google's do.
    actors: z.array(z.email().transform((e) => e.toLowerCase())),
  }),
]);
export type DashboardAuth = z.infer<typeof DashboardAuthSchema>;
export type Right = 'read' | 'act';
export const DASHBOARD_AUTH_MODES = DashboardAuthSchema.options.map((o) => o.shape.mode.value);

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

const HINT =
  'token mode needs DASHBOARD_READ_TOKEN and DASHBOARD_ACT_TOKEN of at least 16 characters; ' +
  'iam mode needs DASHBOARD_AUDIENCES and comma-separated DASHBOARD_ACTORS emails';

/** The dashboard's access rules, from its environment; fails closed on Cloud Run when unset. */
export function loadDashboardAuth(env: NodeJS.ProcessEnv): DashboardAuth {
  if (env.DASHBOARD_AUTH === undefined && onCloudRun(env)) {
    throw new AuthConfigError(
      `DASHBOARD_AUTH is not set on Cloud Run (K_SERVICE=${env.K_SERVICE}): refusing to start. ` +
        `Set DASHBOARD_AUTH=iam (what phasegate deploy sets) or one of ${DASHBOARD_AUTH_MODES.join(', ')}`,
    );
  }
  const mode = env.DASHBOARD_AUTH ?? 'off';
  if (mode === 'google')
    throw new AuthConfigError(
      'DASHBOARD_AUTH=google is now DASHBOARD_AUTH=iam (behind Cloud Run IAM, what phasegate deploy sets): run ' +
        'deploy again, or set it by hand',
    );
  if (mode === 'iam' && env.DASHBOARD_READERS !== undefined) {
    throw new AuthConfigError(
      'DASHBOARD_READERS is no longer read: readers are the members Cloud Run IAM admits (roles/run.invoker, ' +
        'groups and domains included); remove it',
    );
  }
  const input =
    mode === 'token'
      ? { mode, readToken: env.DASHBOARD_READ_TOKEN, actToken: env.DASHBOARD_ACT_TOKEN }
      : mode === 'iam'
        ? { mode, audiences: list(env.DASHBOARD_AUDIENCES), actors: list(env.DASHBOARD_ACTORS) }
        : { mode };
  const result = DashboardAuthSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues
      .map((i) => `${i.path.join('.') || 'DASHBOARD_AUTH'}: ${i.message}`)
      .join('; ');
    throw new AuthConfigError(`invalid dashboard auth (DASHBOARD_AUTH=${mode}): ${issues}; ${HINT}`);
  }
  return result.data;
}

/** Equal or not, in time that does not depend on where they differ; never throws (any length, any bytes). */
export function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * The rights a caller has: none, read, or read and act. `presented` is the token in token mode,
 * and the email of an already verified ID token in iam mode.
 */
export function rightsOf(auth: DashboardAuth, presented: string | undefined): Right[] {
  if (auth.mode === 'off') return ['read', 'act'];
  if (!presented) return [];
  if (auth.mode === 'token') {
    if (sameSecret(presented, auth.actToken)) return ['read', 'act'];
    return sameSecret(presented, auth.readToken) ? ['read'] : [];
  }
  return auth.actors.includes(presented.toLowerCase()) ? ['read', 'act'] : ['read'];
}
