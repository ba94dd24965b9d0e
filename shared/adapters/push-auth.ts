import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import type { PushAuthCheck, PushAuthResult } from '../runtime/push-handler.ts';

/** Google's keys for the OIDC ID tokens that Pub/Sub push and `gcloud auth print-identity-token` carry. */
export const GOOGLE_JWKS_URL = 'https://www.googleapis.com/oauth2/v3/certs';
export const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];

export interface IdTokenVerifierOptions {
  /** Audiences accepted (the function URL a push subscription names, or the dashboard's). */
  audiences: string[];
  /** Defaults to Google's published keys. */
  keys?: JWTVerifyGetKey;
  issuers?: string[];
}

let googleKeys: JWTVerifyGetKey | undefined;

/**
 * Verifies a Google-signed ID token (signature, issuer, audience, expiry, verified email).
 * No token or a bad one: 401. A good token for another audience: 403. Says who it is for.
 */
export function createIdTokenVerifier(options: IdTokenVerifierOptions): PushAuthCheck {
  const keys = options.keys ?? (googleKeys ??= createRemoteJWKSet(new URL(GOOGLE_JWKS_URL)));
  const issuers = options.issuers ?? GOOGLE_ISSUERS;
  return async (authorization): Promise<PushAuthResult> => {
    const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    if (!token) return { ok: false, status: 401, reason: 'no bearer token' };
    try {
      const { payload } = await jwtVerify(token, keys, { issuer: issuers, audience: options.audiences, algorithms: ['RS256'] });
      if (typeof payload.email !== 'string' || payload.email_verified !== true) return { ok: false, status: 403, reason: 'token has no verified email' };
      return { ok: true, email: payload.email };
    } catch (error) {
      if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'aud') return { ok: false, status: 403, reason: `token audience is not ${options.audiences.join(' or ')}` };
      if (error instanceof errors.JWTExpired) return { ok: false, status: 401, reason: 'token expired' };
      return { ok: false, status: 401, reason: `invalid token: ${error instanceof Error ? error.message : String(error)}` };
    }
  };
}

/** A push is accepted only from the push subscription's own service account, for this function's URL. */
export function createPushVerifier(options: { audience: string; serviceAccountEmail: string; keys?: JWTVerifyGetKey; issuers?: string[] }): PushAuthCheck {
  const verify = createIdTokenVerifier({ audiences: [options.audience], keys: options.keys, issuers: options.issuers });
  return async (authorization) => {
    const verdict = await verify(authorization);
    if (verdict.ok && verdict.email !== options.serviceAccountEmail) return { ok: false, status: 403, reason: `token is for ${verdict.email}, not the push service account ${options.serviceAccountEmail}` };
    return verdict;
  };
}

export const PushAuthConfigSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('off') }),
  z.object({ mode: z.literal('oidc'), audience: z.url(), serviceAccountEmail: z.email() }),
]);
export type PushAuthConfig = z.infer<typeof PushAuthConfigSchema>;

/**
 * `PHASEGATE_AUTH=oidc` (what deploy sets) with `PHASEGATE_PUSH_AUDIENCE` and
 * `PHASEGATE_PUSH_SERVICE_ACCOUNT`; `off` (the default) on the emulators, which sign nothing.
 */
export function loadPushAuth(env: NodeJS.ProcessEnv): PushAuthConfig {
  const mode = env.PHASEGATE_AUTH ?? 'off';
  const result = PushAuthConfigSchema.safeParse(mode === 'oidc' ? { mode, audience: env.PHASEGATE_PUSH_AUDIENCE, serviceAccountEmail: env.PHASEGATE_PUSH_SERVICE_ACCOUNT } : { mode });
  if (!result.success) {
    throw new Error(`invalid push authentication (PHASEGATE_AUTH=${mode}): ${result.error.issues.map((i) => `${i.path.join('.') || 'PHASEGATE_AUTH'}: ${i.message}`).join('; ')}; oidc mode needs PHASEGATE_PUSH_AUDIENCE (the function URL) and PHASEGATE_PUSH_SERVICE_ACCOUNT (the push service account email)`);
  }
  return result.data;
}

export function pushAuthCheck(config: PushAuthConfig): PushAuthCheck | undefined {
  return config.mode === 'oidc' ? createPushVerifier(config) : undefined;
}
