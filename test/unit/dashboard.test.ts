import { describe, expect, it } from 'vitest';
import { MemoryPublisher } from '../../shared/testing/memory-publisher.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { loadDashboardAuth } from '../../shared/operations/dashboard/auth.ts';
import { createDashboard } from '../../shared/operations/dashboard/handler.ts';
import type { DashboardRequest } from '../../shared/operations/dashboard/http.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { manualClock, seedFailedEntry } from '../support/factories.ts';

const READ = 'read-token-0123456789';
const ACT = 'act-token-0123456789ab';

function dashboard(
  env: NodeJS.ProcessEnv = { DASHBOARD_AUTH: 'token', DASHBOARD_READ_TOKEN: READ, DASHBOARD_ACT_TOKEN: ACT },
) {
  const store = new MemoryStore();
  const logger = createMemoryLogger();
  const handle = createDashboard({
    definition: testDefinition,
    store,
    publisher: new MemoryPublisher(),
    clock: manualClock(),
    logger,
    auth: loadDashboardAuth(env),
  });
  const call = (
    method: string,
    path: string,
    token?: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) =>
    handle({
      method,
      path,
      query: {},
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        'content-type': 'application/json',
        ...headers,
      },
      body,
    } satisfies DashboardRequest);
  return { store, call, handle, logger };
}

describe('dashboard access', () => {
  it('needs a token to read; a read token cannot act; an act token can', async () => {
    const d = dashboard();
    const request = await seedFailedEntry(d.store);
    expect((await d.call('GET', '/api/state')).status).toBe(401);
    expect((await d.call('GET', '/api/state', 'wrong-token-0123456789')).status).toBe(401);
    expect((await d.call('GET', '/api/state', READ)).status).toBe(200);
    const denied = await d.call('POST', `/api/queue/${request.requestId}/discard`, READ, { note: 'x' });
    expect(denied.status).toBe(403);
    expect(denied.body).toContain('this token may read, not act');
    expect((await d.call('POST', `/api/queue/${request.requestId}/discard`, ACT, { note: '' })).status).toBe(
      400,
    );
    expect(
      (await d.call('POST', `/api/queue/${request.requestId}/discard`, ACT, { note: 'test entry' })).status,
    ).toBe(200);
    expect(
      (await d.call('POST', `/api/queue/${request.requestId}/discard`, ACT, { note: 'again' })).status,
    ).toBe(409);
  });

  it('never writes a dashboard token into a log line (a token names no one)', async () => {
    const d = dashboard();
    const request = await seedFailedEntry(d.store);
    const done = await d.call('POST', `/api/queue/${request.requestId}/discard`, ACT, { note: 'test entry' });
    expect(done.status).toBe(200);
    const logged = JSON.stringify(d.logger.lines);
    expect(logged).toContain('queue action from the dashboard');
    expect(logged).not.toContain(ACT);
  });

  it('takes ?token= once: sets the cookie and redirects to the same page without it', async () => {
    const d = dashboard();
    const landing = await d.handle({
      method: 'GET',
      path: '/',
      query: { token: READ, partition: '2024-04-21' },
      headers: { host: 'dash.example.com' },
      body: undefined,
    });
    expect(landing.status).toBe(303);
    expect(landing.headers.location).toBe('?partition=2024-04-21');
    expect(landing.headers['set-cookie']).toMatch(
      /^phasegate_token=read-token-0123456789; HttpOnly; SameSite=Strict; Path=\/; Secure$/,
    );
    // Plain http is only for this machine: no Secure there, or the browser would drop the cookie.
    const local = await d.handle({
      method: 'GET',
      path: '/',
      query: { token: READ },
      headers: { host: '127.0.0.1:8080' },
      body: undefined,
    });
    expect(local.headers['set-cookie']).not.toContain('Secure');
    expect(local.headers.location).toBe('?');
    const bad = await d.handle({
      method: 'GET',
      path: '/',
      query: { token: 'not-the-token-at-all' },
      headers: {},
      body: undefined,
    });
    expect(bad.status).toBe(401);
    expect(bad.headers['set-cookie']).toBeUndefined();
    const page = await d.handle({
      method: 'GET',
      path: '/',
      query: {},
      headers: { cookie: `phasegate_token=${READ}` },
      body: undefined,
    });
    expect(page.status).toBe(200);
    expect(page.body).toContain('const canAct = false;');
  });

  it('answers a malformed path with 400, not 500', async () => {
    const d = dashboard();
    expect((await d.call('GET', '/api/runs/%E0%A4%A', READ)).status).toBe(400);
    expect((await d.call('POST', '/api/queue/%ZZ/discard', ACT, { note: 'x' })).status).toBe(400);
  });

  it('compares tokens without throwing, whatever their length or bytes', async () => {
    const d = dashboard();
    // As many UTF-16 units as the act token, more bytes: a length check on characters alone would throw in timingSafeEqual.
    const multibyte = 'é'.repeat(ACT.length);
    expect((await d.call('GET', '/api/state', multibyte)).status).toBe(401);
    expect((await d.call('GET', '/api/state', '😀'.repeat(40))).status).toBe(401);
    expect(
      (
        await d.handle({
          method: 'GET',
          path: '/api/state',
          query: {},
          headers: { cookie: 'phasegate_token=%E0%A4%A' },
          body: undefined,
        })
      ).status,
    ).toBe(401);
  });

  it('acts only on a same-origin JSON POST: a cross-site form cannot discard an entry', async () => {
    const d = dashboard();
    const request = await seedFailedEntry(d.store);
    const discard = (headers: Record<string, string>) =>
      d.call('POST', `/api/queue/${request.requestId}/discard`, ACT, { note: 'from elsewhere' }, headers);
    expect((await discard({ 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await discard({ 'content-type': 'text/plain' })).status).toBe(415);
    expect((await discard({ 'sec-fetch-site': 'cross-site', host: 'localhost:8080' })).status).toBe(403);
    expect((await discard({ 'sec-fetch-site': 'same-site', host: 'localhost:8080' })).status).toBe(403);
    expect((await discard({ origin: 'https://evil.example.com', host: 'localhost:8080' })).status).toBe(403);
    expect((await discard({ origin: 'null', host: 'localhost:8080' })).status).toBe(403);
    expect((await d.store.get(COLLECTIONS.queue, request.requestId))?.status).toBe('failed_permanent');
    // The page's own fetch: same origin (through `gcloud run services proxy` Host is the service's, Sec-Fetch-Site decides).
    expect(
      (
        await discard({
          'sec-fetch-site': 'same-origin',
          origin: 'http://localhost:8080',
          host: 'dashboard-abc.a.run.app',
        })
      ).status,
    ).toBe(200);
  });

  it('refuses to start in token mode without strong tokens', () => {
    expect(() => loadDashboardAuth({ DASHBOARD_AUTH: 'token', DASHBOARD_READ_TOKEN: 'short' })).toThrow(
      /DASHBOARD_READ_TOKEN and DASHBOARD_ACT_TOKEN of at least 16 characters/,
    );
    expect(loadDashboardAuth({}).mode).toBe('off');
  });
});

describe('dashboard: control-dlq', () => {
  it(
    'shows what control-dlq holds, peeking at most every 30 s however often the page polls; ' +
      'a failed peek says so and is tried again',
    async () => {
      const clock = manualClock();
      let peeks = 0;
      let failing = false;
      const held = {
        subscription: 'control-dlq-sub',
        count: 2,
        atLeast: false,
        oldest: {
          messageId: '7',
          publishTime: '2026-02-28T23:00:00.000Z',
          sourceSubscription: 'projects/p/subscriptions/phase-raw-dlq-sub',
          bytes: 12,
        },
      };
      const handle = createDashboard({
        definition: testDefinition,
        store: new MemoryStore(),
        publisher: new MemoryPublisher(),
        clock,
        logger: createMemoryLogger(),
        auth: loadDashboardAuth({ DASHBOARD_AUTH: 'off' }),
        controlDlq: () => {
          peeks += 1;
          return failing ? Promise.reject(new Error('7 PERMISSION_DENIED')) : Promise.resolve(held);
        },
      });
      const state = async () =>
        JSON.parse(
          (await handle({ method: 'GET', path: '/api/state', query: {}, headers: {}, body: undefined })).body,
        ) as { controlDlq: { count?: number; message?: string; error?: string } };
      expect((await state()).controlDlq).toMatchObject({
        count: 2,
        message:
          'control-dlq-sub holds 2 message(s), the oldest published 2026-02-28T23:00:00.000Z ' +
          'from projects/p/subscriptions/phase-raw-dlq-sub: the dead-letter recorder could not record them ' +
          '(README: control-dlq)',
      });
      clock.advance(1500);
      await state();
      expect(peeks).toBe(1);
      clock.advance(30_000);
      failing = true;
      expect((await state()).controlDlq).toEqual({
        error: 'could not peek control-dlq: 7 PERMISSION_DENIED',
      });
      failing = false;
      expect((await state()).controlDlq.count).toBe(2);
      expect(peeks).toBe(3);
      const page = await handle({ method: 'GET', path: '/', query: {}, headers: {}, body: undefined });
      expect(page.body).toContain('data-testid="control-dlq"');
    },
  );
});
