import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { z } from 'zod';
import type { PushAuthCheck, PushAuthResult, RequestHeaders } from '../runtime/ack-contract.ts';

/** Google's keys for the OIDC ID tokens that Pub/Sub push and `gcloud auth print-identity-token` carry. */
export const GOOGLE_JWKS_URL = 'https://www.googleapis.com/oauth2/v3/certs';
export const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];
/**
 * What Cloud Run IAM puts in place of a token's signature once it has verified it, before it
 * forwards the request (Cloud Run troubleshooting, "signature removed"). Such a token proves
 * nothing by itself: it is trusted only where every request passes IAM first.
 */
export const SIGNATURE_REMOVED = 'SIGNATURE_REMOVED_BY_GOOGLE';

/**
 * How a function checks who called it:
 * - `iam`: behind Cloud Run IAM (what deploy sets). IAM has verified the token; the function
 *   checks its claims (the signature is the marker). A token that still has its signature is
 *   verified with the keys as in `oidc`.
 * - `oidc`: the function verifies the signature itself; a stripped token is refused.
 * - `off`: no check, the local default (the emulators sign nothing).
 */
export const AUTH_MODES = ['off', 'oidc', 'iam'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

export interface IdTokenVerifierOptions {
  /** Audiences accepted (the function URL a push subscription names, or the dashboard's). */
  audiences: string[];
  /** Whether requests reach this function only through Cloud Run IAM (stripped tokens are then accepted). */
  behindIam: boolean;
  /** Defaults to Google's published keys. */
  keys?: JWTVerifyGetKey;
  issuers?: string[];
  now?: () => Date;
}

export type IdTokenVerifier = (headers: RequestHeaders) => Promise<PushAuthResult>;

let googleKeys: JWTVerifyGetKey | undefined;

/**
 * Cloud Run IAM checks `X-Serverless-Authorization` when it is present (and then leaves
 * `Authorization` to the application), otherwise `Authorization`; the one it checked is the one
 * it strips. Outside IAM only `Authorization` counts.
 */
function bearerOf(headers: RequestHeaders, behindIam: boolean): string | undefined {
  const header = (behindIam ? headers['x-serverless-authorization'] : undefined) ?? headers.authorization;
  return /^Bearer (\S+)$/.exec(header ?? '')?.[1];
}

type Verdict = PushAuthResult;
const refuse = (status: 401 | 403, reason: string): Verdict => ({ ok: false, status, reason });

/** The claims IAM left us: the same checks `jwtVerify` makes after the signature. */
function checkClaims(
  payload: JWTPayload,
  options: IdTokenVerifierOptions,
  issuers: string[],
  now: Date,
): Verdict | null {
  if (typeof payload.iss !== 'string' || !issuers.includes(payload.iss))
    return refuse(401, `invalid token: issuer ${String(payload.iss)} is not ${issuers.join(' or ')}`);
  if (typeof payload.exp !== 'number') return refuse(401, 'invalid token: no expiry');
  if (payload.exp * 1000 <= now.getTime()) return refuse(401, 'token expired');
  if (typeof payload.nbf === 'number' && payload.nbf * 1000 > now.getTime())
    return refuse(401, 'invalid token: not valid yet (nbf)');
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!audiences.some((a) => typeof a === 'string' && options.audiences.includes(a)))
    return refuse(403, `token audience is not ${options.audiences.join(' or ')}`);
  return null;
}

function decoded(token: string): { alg: unknown; payload: JWTPayload } | null {
  try {
    return { alg: decodeProtectedHeader(token).alg, payload: decodeJwt(token) };
  } catch {
    return null;
  }
}

/**
 * Verifies a Google ID token: issuer, audience, expiry, a verified email, and its signature
 * (with Google's keys, or, behind IAM, IAM's word for it). No token or a bad one: 401. A good
 * token for another audience: 403. Never throws.
 */
export function createIdTokenVerifier(options: IdTokenVerifierOptions): IdTokenVerifier {
  const keys = options.keys ?? (googleKeys ??= createRemoteJWKSet(new URL(GOOGLE_JWKS_URL)));
  const issuers = options.issuers ?? GOOGLE_ISSUERS;
  const now = options.now ?? (() => new Date());
  return async (headers) => {
    const token = bearerOf(headers, options.behindIam);
    if (!token) return refuse(401, 'no bearer token');
    let payload: JWTPayload;
    if (token.split('.')[2] === SIGNATURE_REMOVED) {
      if (!options.behindIam)
        return refuse(
          401,
          `token signature was removed (${SIGNATURE_REMOVED}): accepted only behind Cloud Run IAM (PHASEGATE_AUTH=iam)`,
        );
      const parts = decoded(token);
      if (!parts) return refuse(401, 'invalid token: not a JWT');
      if (parts.alg !== 'RS256')
        return refuse(401, `invalid token: algorithm ${String(parts.alg)}, not RS256`);
      const wrong = checkClaims(parts.payload, options, issuers, now());
      if (wrong) return wrong;
      payload = parts.payload;
    } else {
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer: issuers,
          audience: options.audiences,
          algorithms: ['RS256'],
          currentDate: now(),
        }));
      } catch (error) {
        if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'aud')
          return refuse(403, `token audience is not ${options.audiences.join(' or ')}`);
        if (error instanceof errors.JWTExpired) return refuse(401, 'token expired');
        return refuse(401, `invalid token: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (typeof payload.email !== 'string' || payload.email_verified !== true)
      return refuse(403, 'token has no verified email');
    return { ok: true, email: payload.email };
  };
}

/** A push is accepted only from the push subscription's own service account, for this function's URL. */
export function createPushVerifier(
  options: Omit<IdTokenVerifierOptions, 'audiences'> & { audience: string; serviceAccountEmail: string },
): PushAuthCheck {
  const verify = createIdTokenVerifier({ ...options, audiences: [options.audience] });
  return async (headers) => {
    const verdict = await verify(headers);
    if (verdict.ok && verdict.email !== options.serviceAccountEmail)
      return refuse(
        403,
        `token is for ${verdict.email}, not the push service account ${options.serviceAccountEmail}`,
      );
    return verdict;
  };
}

const Checked = { audience: z.url(), serviceAccountEmail: z.email() };
export const PushAuthConfigSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('off') }),
  z.object({ mode: z.literal('oidc'), ...Checked }),
  z.object({ mode: z.literal('iam'), ...Checked }),
]);
export type PushAuthConfig = z.infer<typeof PushAuthConfigSchema>;

/** Set by Cloud Run (and so Cloud Functions gen2) in every instance. */
export const onCloudRun = (env: NodeJS.ProcessEnv): boolean => Boolean(env.K_SERVICE);

/** The configuration is wrong or missing: the function must not start. */
export class AuthConfigError extends Error {
  override readonly name = 'AuthConfigError';
}

/**
 * `PHASEGATE_AUTH=iam` (what deploy sets) or `oidc`, with `PHASEGATE_PUSH_AUDIENCE` and
 * `PHASEGATE_PUSH_SERVICE_ACCOUNT`; `off` is the default only off Cloud Run. On Cloud Run an
 * unset mode fails closed: the function refuses to start rather than accept anyone IAM lets in.
 */
export function loadPushAuth(env: NodeJS.ProcessEnv): PushAuthConfig {
  if (env.PHASEGATE_AUTH === undefined && onCloudRun(env)) {
    throw new AuthConfigError(
      `PHASEGATE_AUTH is not set on Cloud Run (K_SERVICE=${env.K_SERVICE}): refusing to start. Set ` +
        `PHASEGATE_AUTH=iam (behind Cloud Run IAM, what phasegate deploy sets) ` +
        'or oidc, with PHASEGATE_PUSH_AUDIENCE and PHASEGATE_PUSH_SERVICE_ACCOUNT; or PHASEGATE_AUTH=off to accept ' +
        'every caller IAM lets in',
    );
  }
  const mode = env.PHASEGATE_AUTH ?? 'off';
  const input =
    mode === 'off'
      ? { mode }
      : {
          mode,
          audience: env.PHASEGATE_PUSH_AUDIENCE,
          serviceAccountEmail: env.PHASEGATE_PUSH_SERVICE_ACCOUNT,
        };
  const result = PushAuthConfigSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues
      .map((i) => `${i.path.join('.') || 'PHASEGATE_AUTH'}: ${i.message}`)
      .join('; ');
    throw new AuthConfigError(
      `invalid push authentication (PHASEGATE_AUTH=${mode}): ${issues}; PHASEGATE_AUTH is one of ${AUTH_MODES.join(', ')}; ` +
        'iam and oidc need PHASEGATE_PUSH_AUDIENCE (the function URL) and PHASEGATE_PUSH_SERVICE_ACCOUNT (the push service account email)',
    );
  }
  return result.data;
}

export function pushAuthCheck(
  config: PushAuthConfig,
  options: { keys?: JWTVerifyGetKey; issuers?: string[] } = {},
): PushAuthCheck | undefined {
  if (config.mode === 'off') return undefined;
  return createPushVerifier({ ...config, ...options, behindIam: config.mode === 'iam' });
}
