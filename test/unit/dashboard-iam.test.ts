import { describe, expect, it } from 'vitest';
import { MemoryPublisher } from '../../shared/testing/memory-publisher.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { createIdTokenVerifier } from '../../shared/adapters/push-auth.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { loadDashboardAuth } from '../../shared/operations/dashboard/auth.ts';
import { createDashboard } from '../../shared/operations/dashboard/handler.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { manualClock, seedFailedEntry } from '../support/factories.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { AUDIENCE, bearer, keys, otherKey, past, stripped, token } from '../support/push-tokens.ts';

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
    const request = await seedFailedEntry(store);
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
