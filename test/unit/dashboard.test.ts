import { describe, expect, it } from 'vitest';
import { MemoryPublisher } from '../../shared/adapters/memory-publisher.ts';
import { MemoryStore } from '../../shared/adapters/memory-store.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { loadDashboardAuth } from '../../shared/operations/dashboard/auth.ts';
import { createDashboard, type DashboardRequest } from '../../shared/operations/dashboard/handler.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { makeProcessorRequest, manualClock } from '../support/factories.ts';

const READ = 'read-token-0123456789';
const ACT = 'act-token-0123456789ab';

function dashboard(env: NodeJS.ProcessEnv = { DASHBOARD_AUTH: 'token', DASHBOARD_READ_TOKEN: READ, DASHBOARD_ACT_TOKEN: ACT }) {
  const store = new MemoryStore();
  const handle = createDashboard({ definition: testDefinition, store, publisher: new MemoryPublisher(), clock: manualClock(), logger: createMemoryLogger(), auth: loadDashboardAuth(env) });
  const call = (method: string, path: string, token?: string, body?: unknown) => handle({ method, path, query: {}, headers: token ? { authorization: `Bearer ${token}` } : {}, body } satisfies DashboardRequest);
  return { store, call, handle };
}

describe('dashboard access', () => {
  it('needs a token to read; a read token cannot act; an act token can', async () => {
    const d = dashboard();
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets' });
    await d.store.set(COLLECTIONS.queue, request.requestId, { requestId: request.requestId, status: 'failed_permanent', request, retryCount: 0, phase: 'alpha', processor: 'widgets', failureEventId: 'f', firstFailedAt: '2026-01-01T00:00:00Z' });
    expect((await d.call('GET', '/api/state')).status).toBe(401);
    expect((await d.call('GET', '/api/state', 'wrong-token-0123456789')).status).toBe(401);
    expect((await d.call('GET', '/api/state', READ)).status).toBe(200);
    const denied = await d.call('POST', `/api/queue/${request.requestId}/discard`, READ, { note: 'x' });
    expect(denied.status).toBe(403);
    expect(denied.body).toContain('this token may read, not act');
    expect((await d.call('POST', `/api/queue/${request.requestId}/discard`, ACT, { note: '' })).status).toBe(400);
    expect((await d.call('POST', `/api/queue/${request.requestId}/discard`, ACT, { note: 'test entry' })).status).toBe(200);
    expect((await d.call('POST', `/api/queue/${request.requestId}/discard`, ACT, { note: 'again' })).status).toBe(409);
  });

  it('hides the action buttons from a reader and sets a cookie from ?token=', async () => {
    const d = dashboard();
    const page = await d.handle({ method: 'GET', path: '/', query: { token: READ }, headers: {}, body: undefined });
    expect(page.status).toBe(200);
    expect(page.body).toContain('const canAct = false;');
    expect(page.headers['set-cookie']).toContain('phasegate_token=');
    const withCookie = await d.handle({ method: 'GET', path: '/api/state', query: {}, headers: { cookie: `phasegate_token=${READ}` }, body: undefined });
    expect(withCookie.status).toBe(200);
  });

  it('refuses to start in token mode without strong tokens', () => {
    expect(() => loadDashboardAuth({ DASHBOARD_AUTH: 'token', DASHBOARD_READ_TOKEN: 'short' })).toThrow(/DASHBOARD_READ_TOKEN and DASHBOARD_ACT_TOKEN of at least 16 characters/);
    expect(loadDashboardAuth({}).mode).toBe('off');
  });
});
