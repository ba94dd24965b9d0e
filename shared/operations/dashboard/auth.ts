import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/** Reading and acting are separate rights: a read token sees, only an act token changes the queue. */
export const DashboardAuthSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('off') }),
  z.object({ mode: z.literal('token'), readToken: z.string().min(16), actToken: z.string().min(16) }),
]);
export type DashboardAuth = z.infer<typeof DashboardAuthSchema>;
export type Right = 'read' | 'act';

export function loadDashboardAuth(env: NodeJS.ProcessEnv): DashboardAuth {
  const mode = env.DASHBOARD_AUTH ?? 'off';
  const result = DashboardAuthSchema.safeParse(mode === 'token' ? { mode, readToken: env.DASHBOARD_READ_TOKEN, actToken: env.DASHBOARD_ACT_TOKEN } : { mode });
  if (!result.success) throw new Error(`invalid dashboard auth (DASHBOARD_AUTH=${mode}): ${result.error.issues.map((i) => `${i.path.join('.') || 'DASHBOARD_AUTH'}: ${i.message}`).join('; ')}; token mode needs DASHBOARD_READ_TOKEN and DASHBOARD_ACT_TOKEN of at least 16 characters`);
  return result.data;
}

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** The rights a presented token grants: none, read, or read and act. */
export function rightsOf(auth: DashboardAuth, token: string | undefined): Right[] {
  if (auth.mode === 'off') return ['read', 'act'];
  if (!token) return [];
  if (same(token, auth.actToken)) return ['read', 'act'];
  if (same(token, auth.readToken)) return ['read'];
  return [];
}
