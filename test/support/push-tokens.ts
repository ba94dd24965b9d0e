import { exportJWK, generateKeyPair, SignJWT, createLocalJWKSet, type JWK } from 'jose';
import { createPushVerifier, SIGNATURE_REMOVED } from '../../shared/adapters/push-auth.ts';

export const AUDIENCE = 'https://europe-west1-demo.cloudfunctions.net/phase-scrape';
export const PUSH_SA = 'phasegate-push@demo.iam.gserviceaccount.com';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

// Google's signing keys, played by a local key pair; `otherKey` is a signer Google does not have.
const pair = await generateKeyPair('RS256');
const privateKey: PrivateKey = pair.privateKey;
export const otherKey: PrivateKey = (await generateKeyPair('RS256')).privateKey;
const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'RS256' };
export const keys = createLocalJWKSet({ keys: [jwk] });

/** A token shaped like the one Pub/Sub push attaches, signed by a local key. */
export function token(
  claims: { aud?: string; email?: string; exp?: number; iss?: string; emailVerified?: boolean } = {},
  key: PrivateKey = privateKey,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email: claims.email ?? PUSH_SA, email_verified: claims.emailVerified ?? true })
    .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
    .setIssuer(claims.iss ?? 'https://accounts.google.com')
    .setAudience(claims.aud ?? AUDIENCE)
    .setSubject('1234567890')
    .setIssuedAt(now - 60)
    .setExpirationTime(claims.exp ?? now + 3600)
    .sign(key);
}

/** What Cloud Run IAM forwards once it has checked a token: the same token, its signature replaced. */
export const stripped = (jwt: string) => `${jwt.split('.').slice(0, 2).join('.')}.${SIGNATURE_REMOVED}`;
export const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });
export const past = () => Math.floor(Date.now() / 1000) - 600;

export const verifier = (behindIam = false) =>
  createPushVerifier({ audience: AUDIENCE, serviceAccountEmail: PUSH_SA, keys, behindIam });
