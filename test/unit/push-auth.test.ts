import { exportJWK, generateKeyPair, SignJWT, createLocalJWKSet, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryPublisher } from '../../shared/testing/memory-publisher.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import {
  AuthConfigError,
  createIdTokenVerifier,
  createPushVerifier,
  loadPushAuth,
  SIGNATURE_REMOVED,
} from '../../shared/adapters/push-auth.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { loadDashboardAuth } from '../../shared/operations/dashboard/auth.ts';
import { createDashboard } from '../../shared/operations/dashboard/handler.ts';
import { createPushHandler } from '../../shared/runtime/ack-contract.ts';
import type { PubSubCloudEvent } from '../../shared/runtime/pubsub-event.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { makeProcessorRequest, makeQueueEntry, manualClock } from '../support/factories.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';

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
function token(
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
const stripped = (jwt: string) => `${jwt.split('.').slice(0, 2).join('.')}.${SIGNATURE_REMOVED}`;
const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });
const past = () => Math.floor(Date.now() / 1000) - 600;

const verifier = (behindIam = false) =>
  createPushVerifier({ audience: AUDIENCE, serviceAccountEmail: PUSH_SA, keys, behindIam });

describe('push OIDC verification (the function checks the signature)', () => {
  it('accepts a good token from the push service account', async () => {
    expect(await verifier()(bearer(await token()))).toEqual({ ok: true, email: PUSH_SA });
  });

  it('refuses a wrong audience with 403', async () => {
    const verdict = await verifier()(
      bearer(await token({ aud: 'https://europe-west1-demo.cloudfunctions.net/phase-raw' })),
    );
    expect(verdict).toMatchObject({ ok: false, status: 403 });
    expect(!verdict.ok && verdict.reason).toContain(AUDIENCE);
  });

  it('refuses an expired token with 401', async () => {
    expect(await verifier()(bearer(await token({ exp: past() })))).toEqual({
      ok: false,
      status: 401,
      reason: 'token expired',
    });
  });

  it('refuses a missing token with 401', async () => {
    expect(await verifier()({})).toEqual({ ok: false, status: 401, reason: 'no bearer token' });
    expect(await verifier()({ authorization: 'Basic dXNlcjpwYXNz' })).toMatchObject({
      ok: false,
      status: 401,
    });
  });

  it('refuses another caller, another issuer, another signer and an unverified email', async () => {
    expect(await verifier()(bearer(await token({ email: 'someone@example.com' })))).toMatchObject({
      ok: false,
      status: 403,
      reason: expect.stringContaining('someone@example.com') as string,
    });
    expect(await verifier()(bearer(await token({ iss: 'https://evil.example.com' })))).toMatchObject({
      ok: false,
      status: 401,
    });
    expect(await verifier()(bearer(await token({}, otherKey)))).toMatchObject({ ok: false, status: 401 });
    expect(await verifier()(bearer(await token({ emailVerified: false })))).toMatchObject({
      ok: false,
      status: 403,
    });
  });

  it('refuses the IAM marker: outside IAM a token without its signature proves nothing', async () => {
    const verdict = await verifier()(bearer(stripped(await token())));
    expect(verdict).toMatchObject({
      ok: false,
      status: 401,
      reason: expect.stringContaining('PHASEGATE_AUTH=iam') as string,
    });
  });
});

describe('push behind Cloud Run IAM (the signature is IAM-checked and removed; the claims are ours to check)', () => {
  it('accepts the stripped token of the push service account for this function', async () => {
    expect(await verifier(true)(bearer(stripped(await token())))).toEqual({ ok: true, email: PUSH_SA });
  });

  it('reads X-Serverless-Authorization first, as IAM checks and strips that one when it is there', async () => {
    const headers = {
      'x-serverless-authorization': `Bearer ${stripped(await token())}`,
      authorization: 'Bearer app-token-for-someone-else',
    };
    expect(await verifier(true)(headers)).toEqual({ ok: true, email: PUSH_SA });
    // Outside IAM the header means nothing: only Authorization counts.
    expect(await verifier(false)(headers)).toMatchObject({ ok: false, status: 401 });
  });

  it('still refuses wrong claims: audience, caller, issuer, expiry, an unverified email', async () => {
    const check = async (claims: Parameters<typeof token>[0]) =>
      verifier(true)(bearer(stripped(await token(claims))));
    expect(await check({ aud: 'https://europe-west1-demo.cloudfunctions.net/phase-raw' })).toMatchObject({
      ok: false,
      status: 403,
      reason: expect.stringContaining('audience') as string,
    });
    expect(await check({ email: 'someone@example.com' })).toMatchObject({
      ok: false,
      status: 403,
      reason: expect.stringContaining('someone@example.com') as string,
    });
    expect(await check({ iss: 'https://evil.example.com' })).toMatchObject({
      ok: false,
      status: 401,
      reason: expect.stringContaining('issuer') as string,
    });
    expect(await check({ exp: past() })).toEqual({ ok: false, status: 401, reason: 'token expired' });
    expect(await check({ emailVerified: false })).toMatchObject({ ok: false, status: 403 });
  });

  it('refuses an unsigned or malformed token, and verifies one that still has its signature', async () => {
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${(await token()).split('.')[1]}.`;
    expect(await verifier(true)(bearer(unsigned))).toMatchObject({ ok: false, status: 401 });
    expect(
      await verifier(true)(bearer(`${unsigned.split('.').slice(0, 2).join('.')}.${SIGNATURE_REMOVED}`)),
    ).toMatchObject({ ok: false, status: 401, reason: expect.stringContaining('RS256') as string });
    expect(await verifier(true)(bearer(`garbage.more-garbage.${SIGNATURE_REMOVED}`))).toMatchObject({
      ok: false,
      status: 401,
      reason: 'invalid token: not a JWT',
    });
    expect(await verifier(true)(bearer(await token()))).toEqual({ ok: true, email: PUSH_SA });
    expect(await verifier(true)(bearer(await token({}, otherKey)))).toMatchObject({ ok: false, status: 401 });
  });
});

describe('push auth configuration', () => {
  const iam = {
    PHASEGATE_AUTH: 'iam',
    PHASEGATE_PUSH_AUDIENCE: AUDIENCE,
    PHASEGATE_PUSH_SERVICE_ACCOUNT: PUSH_SA,
  };

  it('is off by default only off Cloud Run; names what iam and oidc miss', () => {
    expect(loadPushAuth({})).toEqual({ mode: 'off' });
    expect(() => loadPushAuth({ PHASEGATE_AUTH: 'oidc', PHASEGATE_PUSH_AUDIENCE: AUDIENCE })).toThrow(
      /PHASEGATE_PUSH_SERVICE_ACCOUNT/,
    );
    expect(loadPushAuth(iam)).toEqual({ mode: 'iam', audience: AUDIENCE, serviceAccountEmail: PUSH_SA });
    expect(() => loadPushAuth({ ...iam, PHASEGATE_AUTH: 'yes' })).toThrow(/one of off, oidc, iam/);
  });

  it('fails closed on Cloud Run: an unset mode refuses to start, naming the variable', () => {
    expect(() => loadPushAuth({ K_SERVICE: 'phase-scrape' })).toThrow(AuthConfigError);
    expect(() => loadPushAuth({ K_SERVICE: 'phase-scrape' })).toThrow(
      /PHASEGATE_AUTH is not set on Cloud Run/,
    );
    expect(loadPushAuth({ K_SERVICE: 'phase-scrape', ...iam }).mode).toBe('iam');
    expect(loadPushAuth({ K_SERVICE: 'phase-scrape', PHASEGATE_AUTH: 'off' }).mode).toBe('off');
  });
});

describe('push endpoint', () => {
  const envelope = {
    message: { data: Buffer.from('{"x":1}').toString('base64'), messageId: 'm-1', attributes: { a: 'b' } },
    subscription: 'projects/demo/subscriptions/phase-scrape-sub',
  };

  function endpoint(handle: (event: PubSubCloudEvent) => Promise<void>, auth = true) {
    return createPushHandler('phase-scrape', handle, {
      logger: createMemoryLogger(),
      auth: auth ? verifier(true) : undefined,
    });
  }

  it('hands a verified push to the handler as the event, and acks with 204', async () => {
    const seen: PubSubCloudEvent[] = [];
    const push = endpoint((event) => {
      seen.push(event);
      return Promise.resolve();
    });
    const response = await push({
      path: '/projects/demo/topics/phase-scrape',
      headers: bearer(stripped(await token())),
      body: envelope,
    });
    expect(response.status).toBe(204);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      id: 'm-1',
      source: '//pubsub.googleapis.com/projects/demo/topics/phase-scrape',
      data: { message: { data: envelope.message.data, attributes: { a: 'b' } } },
    });
  });

  it('never runs the handler for a refused token', async () => {
    let ran = false;
    const push = endpoint(() => {
      ran = true;
      return Promise.resolve();
    });
    expect((await push({ path: '/', headers: {}, body: envelope })).status).toBe(401);
    expect(
      (
        await push({
          path: '/',
          headers: bearer(stripped(await token({ aud: 'https://elsewhere' }))),
          body: envelope,
        })
      ).status,
    ).toBe(403);
    expect(
      (await push({ path: '/', headers: bearer(stripped(await token({ exp: past() }))), body: envelope }))
        .status,
    ).toBe(401);
    expect(ran).toBe(false);
  });

  it('answers 500 when the handler fails, so Pub/Sub redelivers, and 400 for a body that is not a push', async () => {
    const push = endpoint(() => Promise.reject(new Error('write failed')), false);
    expect((await push({ path: '/', headers: {}, body: envelope })).status).toBe(500);
    expect((await push({ path: '/', headers: {}, body: { hello: 'world' } })).status).toBe(400);
  });
});

describe('dashboard with Google identities behind Cloud Run IAM', () => {
  const DASHBOARD = 'https://europe-west1-demo.cloudfunctions.net/dashboard';
  const env = {
    DASHBOARD_AUTH: 'iam',
    DASHBOARD_AUDIENCES: DASHBOARD,
    DASHBOARD_ACTORS: 'oncall@example.com',
  };
  function dashboard() {
    const auth = loadDashboardAuth(env);
    const verifyIdToken = createIdTokenVerifier({ audiences: [DASHBOARD], keys, behindIam: true });
    const handle = createDashboard({
      definition: testDefinition,
      store: new MemoryStore(),
      publisher: new MemoryPublisher(),
      clock: manualClock(),
      logger: createMemoryLogger(),
      auth,
      verifyIdToken,
    });
    return async (method: string, path: string, jwt?: string, headers: Record<string, string> = {}) =>
      handle({
        method,
        path,
        query: {},
        headers: { ...(jwt ? bearer(jwt) : {}), 'content-type': 'application/json', ...headers },
        body: { note: 'n' },
      });
  }

  it('acts only for the page served through the proxy: a page whose name was rebound to 127.0.0.1 is refused', async () => {
    const call = dashboard();
    const oncall = stripped(await token({ aud: DASHBOARD, email: 'oncall@example.com' }));
    // `gcloud run services proxy` rewrites Host to the service's; the browser's Origin is the page's.
    const proxied = { host: 'europe-west1-demo.cloudfunctions.net', 'sec-fetch-site': 'same-origin' };
    expect(
      (await call('POST', '/api/queue/x/discard', oncall, { ...proxied, origin: 'http://localhost:8080' }))
        .status,
    ).toBe(409);
    expect(
      (
        await call('POST', '/api/queue/x/discard', oncall, {
          ...proxied,
          origin: 'http://attacker.example:8080',
        })
      ).status,
    ).toBe(403);
    expect(
      (await call('POST', '/api/queue/x/discard', oncall, { ...proxied, origin: DASHBOARD })).status,
    ).toBe(409);
    // A browser always sends Origin with a POST: one without is not the page.
    expect((await call('POST', '/api/queue/x/discard', oncall, proxied)).status).toBe(403);
  });

  it('lets any caller IAM admitted read (groups and domains are IAM members), and only actors act', async () => {
    const call = dashboard();
    expect((await call('GET', '/api/state')).status).toBe(401);
    const groupMember = stripped(await token({ aud: DASHBOARD, email: 'member-of-data-group@example.com' }));
    expect((await call('GET', '/api/state', groupMember)).status).toBe(200);
    const readerActs = await call('POST', '/api/queue/x/discard', groupMember);
    expect(readerActs.status).toBe(403);
    expect(readerActs.body).toContain('member-of-data-group@example.com may read, not act');
    expect(
      (
        await call(
          'POST',
          '/api/queue/x/discard',
          stripped(await token({ aud: DASHBOARD, email: 'oncall@example.com' })),
        )
      ).status,
    ).toBe(409);
    // The gcloud proxy's token is signed; verified with the keys like any other.
    expect(
      (
        await call(
          'POST',
          '/api/queue/x/discard',
          await token({ aud: DASHBOARD, email: 'oncall@example.com' }),
        )
      ).status,
    ).toBe(409);
  });

  it('refuses a wrong audience, an expired token and a forged one', async () => {
    const call = dashboard();
    expect(
      (await call('GET', '/api/state', stripped(await token({ aud: AUDIENCE, email: 'oncall@example.com' }))))
        .status,
    ).toBe(403);
    expect(
      (await call('GET', '/api/state', stripped(await token({ aud: DASHBOARD, exp: past() })))).status,
    ).toBe(401);
    expect((await call('GET', '/api/state', await token({ aud: DASHBOARD }, otherKey))).status).toBe(401);
  });

  it('matches actors without case and signs the note of what they did with their email', async () => {
    const store = new MemoryStore();
    const auth = loadDashboardAuth({ ...env, DASHBOARD_ACTORS: 'OnCall@Example.com' });
    const verifyIdToken = createIdTokenVerifier({ audiences: [DASHBOARD], keys, behindIam: true });
    const handle = createDashboard({
      definition: testDefinition,
      store,
      publisher: new MemoryPublisher(),
      clock: manualClock(),
      logger: createMemoryLogger(),
      auth,
      verifyIdToken,
    });
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
    await store.set(
      COLLECTIONS.queue,
      request.requestId,
      makeQueueEntry({
        requestId: request.requestId,
        status: 'failed_permanent',
        request,
        retryCount: 0,
        phase: 'alpha',
        processor: 'widgets',
        failureEventId: 'f',
        firstFailedAt: '2026-01-01T00:00:00Z',
      }),
    );
    const jwt = stripped(await token({ aud: DASHBOARD, email: 'oncall@example.com' }));
    const response = await handle({
      method: 'POST',
      path: `/api/queue/${request.requestId}/discard`,
      query: {},
      headers: { ...bearer(jwt), 'content-type': 'application/json' },
      body: { note: 'test entry' },
    });
    expect(response.status).toBe(200);
    expect(await store.get(COLLECTIONS.queue, request.requestId)).toMatchObject({
      status: 'discarded',
      note: 'test entry (by oncall@example.com)',
    });
  });

  it('names what iam mode misses, refuses the retired readers list, and fails closed on Cloud Run', () => {
    expect(() => loadDashboardAuth({ DASHBOARD_AUTH: 'google' })).toThrow(
      /DASHBOARD_AUTH=google is now DASHBOARD_AUTH=iam/,
    );
    expect(() => loadDashboardAuth({ DASHBOARD_AUTH: 'iam', DASHBOARD_ACTORS: 'a@b.co' })).toThrow(
      /DASHBOARD_AUDIENCES/,
    );
    expect(() => loadDashboardAuth({ ...env, DASHBOARD_ACTORS: 'group:x@example.com' })).toThrow(
      /DASHBOARD_ACTORS|actors/,
    );
    expect(() => loadDashboardAuth({ ...env, DASHBOARD_READERS: 'x@example.com' })).toThrow(
      /readers are the members Cloud Run IAM admits/,
    );
    expect(() => loadDashboardAuth({ K_SERVICE: 'dashboard' })).toThrow(
      /DASHBOARD_AUTH is not set on Cloud Run/,
    );
    expect(loadDashboardAuth({ K_SERVICE: 'dashboard', ...env }).mode).toBe('iam');
  });
});
