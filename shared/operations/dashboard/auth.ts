import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/** Reading and acting are separate rights: a read token sees, only an act token changes the queue. */
export const DashboardAuthSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('off') }),
  z.object({ mode: z.literal('token'), readToken: z.string().min(16), actToken: z.string().min(16) }),
  /** Production: a Google ID token (`gcloud auth print-identity-token`), rights by verified email. */
  z.object({ mode: z.literal('google'), audiences: z.array(z.string().min(1)).min(1), readers: z.array(z.email()), actors: z.array(z.email()) }),
]);
export type DashboardAuth = z.infer<typeof DashboardAuthSchema>;
export type Right = 'read' | 'act';

const list = (value: string | undefined) => (value ?? '').split(',').map((v) => v.trim()).filter(Boolean);

export function loadDashboardAuth(env: NodeJS.ProcessEnv): DashboardAuth {
  const mode = env.DASHBOARD_AUTH ?? 'off';
  const input =
    mode === 'token'
      ? { mode, readToken: env.DASHBOARD_READ_TOKEN, actToken: env.DASHBOARD_ACT_TOKEN }
      : mode === 'google'
        ? { mode, audiences: list(env.DASHBOARD_AUDIENCES), readers: list(env.DASHBOARD_READERS), actors: list(env.DASHBOARD_ACTORS) }
        : { mode };
  const result = DashboardAuthSchema.safeParse(input);
  if (!result.success) {
    throw new Error(
      `invalid dashboard auth (DASHBOARD_AUTH=${mode}): ${result.error.issues.map((i) => `${i.path.join('.') || 'DASHBOARD_AUTH'}: ${i.message}`).join('; ')}; ` +
        'token mode needs DASHBOARD_READ_TOKEN and DASHBOARD_ACT_TOKEN of at least 16 characters; google mode needs DASHBOARD_AUDIENCES and comma-separated DASHBOARD_READERS / DASHBOARD_ACTORS emails',
    );
  }
  return result.data;
}

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * The rights a presented token grants: none, read, or read and act. In google mode `token` is
 * the email of an already verified ID token.
 */
export function rightsOf(auth: DashboardAuth, token: string | undefined): Right[] {
  if (auth.mode === 'off') return ['read', 'act'];
  if (auth.mode === 'google') {
    if (!token) return [];
    if (auth.actors.includes(token)) return ['read', 'act'];
    return auth.readers.includes(token) ? ['read'] : [];
  }
  if (!token) return [];
  if (same(token, auth.actToken)) return ['read', 'act'];
  if (same(token, auth.readToken)) return ['read'];
  return [];
}
