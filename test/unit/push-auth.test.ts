import { exportJWK, generateKeyPair, SignJWT, createLocalJWKSet, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryPublisher } from '../../shared/adapters/memory-publisher.ts';
import { MemoryStore } from '../../shared/adapters/memory-store.ts';
import { createIdTokenVerifier, createPushVerifier, loadPushAuth } from '../../shared/adapters/push-auth.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { loadDashboardAuth } from '../../shared/operations/dashboard/auth.ts';
import { createDashboard } from '../../shared/operations/dashboard/handler.ts';
import { createPushHandler } from '../../shared/runtime/push-handler.ts';
import type { PubSubCloudEvent } from '../../shared/runtime/pubsub-event.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { manualClock } from '../support/factories.ts';

const AUDIENCE = 'https://europe-west1-demo.cloudfunctions.net/phase-scrape';
const PUSH_SA = 'phasegate-push@demo.iam.gserviceaccount.com';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let privateKey: PrivateKey;
let otherKey: PrivateKey;
let keys: ReturnType<typeof createLocalJWKSet>;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'RS256' };
  keys = createLocalJWKSet({ keys: [jwk] });
});

/** A token shaped like the one Pub/Sub push attaches, signed by a local key. */
function token(claims: { aud?: string; email?: string; exp?: number; iss?: string } = {}, key: PrivateKey = privateKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email: claims.email ?? PUSH_SA, email_verified: true })
    .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
    .setIssuer(claims.iss ?? 'https://accounts.google.com')
    .setAudience(claims.aud ?? AUDIENCE)
    .setSubject('1234567890')
    .setIssuedAt(now - 60)
    .setExpirationTime(claims.exp ?? now + 3600)
    .sign(key);
}

const verifier = () => createPushVerifier({ audience: AUDIENCE, serviceAccountEmail: PUSH_SA, keys });

describe('push OIDC verification', () => {
  it('accepts a good token from the push service account', async () => {
    expect(await verifier()(`Bearer ${await token()}`)).toEqual({ ok: true, email: PUSH_SA });
  });

  it('refuses a wrong audience with 403', async () => {
    const verdict = await verifier()(`Bearer ${await token({ aud: 'https://europe-west1-demo.cloudfunctions.net/phase-raw' })}`);
    expect(verdict).toMatchObject({ ok: false, status: 403 });
    expect(!verdict.ok && verdict.reason).toContain(AUDIENCE);
  });

  it('refuses an expired token with 401', async () => {
    const verdict = await verifier()(`Bearer ${await token({ exp: Math.floor(Date.now() / 1000) - 600 })}`);
    expect(verdict).toEqual({ ok: false, status: 401, reason: 'token expired' });
  });

  it('refuses a missing token with 401', async () => {
    expect(await verifier()(undefined)).toEqual({ ok: false, status: 401, reason: 'no bearer token' });
    expect(await verifier()('Basic dXNlcjpwYXNz')).toMatchObject({ ok: false, status: 401 });
  });

  it('refuses another caller, another issuer and another signer', async () => {
    expect(await verifier()(`Bearer ${await token({ email: 'someone@example.com' })}`)).toMatchObject({ ok: false, status: 403, reason: expect.stringContaining('someone@example.com') as string });
    expect(await verifier()(`Bearer ${await token({ iss: 'https://evil.example.com' })}`)).toMatchObject({ ok: false, status: 401 });
    expect(await verifier()(`Bearer ${await token({}, otherKey)}`)).toMatchObject({ ok: false, status: 401 });
  });

  it('is off unless configured, and oidc mode names what it misses', () => {
    expect(loadPushAuth({})).toEqual({ mode: 'off' });
    expect(() => loadPushAuth({ PHASEGATE_AUTH: 'oidc', PHASEGATE_PUSH_AUDIENCE: AUDIENCE })).toThrow(/PHASEGATE_PUSH_SERVICE_ACCOUNT/);
    expect(loadPushAuth({ PHASEGATE_AUTH: 'oidc', PHASEGATE_PUSH_AUDIENCE: AUDIENCE, PHASEGATE_PUSH_SERVICE_ACCOUNT: PUSH_SA })).toEqual({ mode: 'oidc', audience: AUDIENCE, serviceAccountEmail: PUSH_SA });
  });
});

describe('push endpoint', () => {
  const envelope = { message: { data: Buffer.from('{"x":1}').toString('base64'), messageId: 'm-1', attributes: { a: 'b' } }, subscription: 'projects/demo/subscriptions/phase-scrape-sub' };

  function endpoint(handle: (event: PubSubCloudEvent) => Promise<void>, auth = true) {
    return createPushHandler('phase-scrape', handle, { logger: createMemoryLogger(), auth: auth ? verifier() : undefined });
  }

  it('hands a verified push to the handler as the event, and acks with 204', async () => {
    const seen: PubSubCloudEvent[] = [];
    const push = endpoint((event) => {
      seen.push(event);
      return Promise.resolve();
    });
    const response = await push({ path: '/projects/demo/topics/phase-scrape', headers: { authorization: `Bearer ${await token()}` }, body: envelope });
    expect(response.status).toBe(204);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ id: 'm-1', source: '//pubsub.googleapis.com/projects/demo/topics/phase-scrape', data: { message: { data: envelope.message.data, attributes: { a: 'b' } } } });
  });

  it('never runs the handler for a refused token', async () => {
    let ran = false;
    const push = endpoint(() => {
      ran = true;
      return Promise.resolve();
    });
    expect((await push({ path: '/', headers: {}, body: envelope })).status).toBe(401);
    expect((await push({ path: '/', headers: { authorization: `Bearer ${await token({ aud: 'https://elsewhere' })}` }, body: envelope })).status).toBe(403);
    expect(ran).toBe(false);
  });

  it('answers 500 when the handler fails, so Pub/Sub redelivers, and 400 for a body that is not a push', async () => {
    const push = endpoint(() => Promise.reject(new Error('write failed')), false);
    expect((await push({ path: '/', headers: {}, body: envelope })).status).toBe(500);
    expect((await push({ path: '/', headers: {}, body: { hello: 'world' } })).status).toBe(400);
  });
});

describe('dashboard with Google identities', () => {
  const DASHBOARD = 'https://europe-west1-demo.cloudfunctions.net/dashboard';
  const env = { DASHBOARD_AUTH: 'google', DASHBOARD_AUDIENCES: DASHBOARD, DASHBOARD_READERS: 'reader@example.com', DASHBOARD_ACTORS: 'oncall@example.com' };
  function dashboard() {
    const auth = loadDashboardAuth(env);
    const handle = createDashboard({ definition: testDefinition, store: new MemoryStore(), publisher: new MemoryPublisher(), clock: manualClock(), logger: createMemoryLogger(), auth, verifyIdToken: createIdTokenVerifier({ audiences: [DASHBOARD], keys }) });
    return async (method: string, path: string, bearer?: string) => handle({ method, path, query: {}, headers: bearer ? { authorization: `Bearer ${bearer}` } : {}, body: { note: 'n' } });
  }

  it('gives rights by verified email, refuses strangers, bad audiences and missing tokens', async () => {
    const call = dashboard();
    expect((await call('GET', '/api/state')).status).toBe(401);
    expect((await call('GET', '/api/state', await token({ aud: DASHBOARD, email: 'reader@example.com' }))).status).toBe(200);
    const readerActs = await call('POST', '/api/queue/x/discard', await token({ aud: DASHBOARD, email: 'reader@example.com' }));
    expect(readerActs.status).toBe(403);
    expect(readerActs.body).toContain('reader@example.com may read, not act');
    expect((await call('POST', '/api/queue/x/discard', await token({ aud: DASHBOARD, email: 'oncall@example.com' }))).status).toBe(409);
    expect((await call('GET', '/api/state', await token({ aud: DASHBOARD, email: 'stranger@example.com' }))).status).toBe(403);
    expect((await call('GET', '/api/state', await token({ aud: AUDIENCE, email: 'oncall@example.com' }))).status).toBe(403);
  });

  it('names what google mode misses', () => {
    expect(() => loadDashboardAuth({ DASHBOARD_AUTH: 'google', DASHBOARD_READERS: 'a@b.co' })).toThrow(/DASHBOARD_AUDIENCES/);
  });
});
