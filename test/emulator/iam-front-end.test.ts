import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_REMOVED } from '../../shared/adapters/push-auth.ts';
import { TOPICS } from '../../shared/messages/messages.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { LOCAL_OPERATOR } from '../../scripts/lib/stack.ts';
import { findRunByMessage } from '../../scripts/lib/watch-run.ts';
import { serviceAccountEmail } from '../../infra/deploy/target.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { eventually, startHarness, type Harness } from '../support/emulator-harness.ts';

// The request path of a deployed pipeline, on this machine: the emulator's pushes get a token as
// Pub/Sub would mint it, Cloud Run IAM (the local front end) verifies it and strips its signature,
// and the functions run in the auth mode deploy sets (PHASEGATE_AUTH=iam, DASHBOARD_AUTH=iam).

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ label: 'iam', definition: testDefinition, iam: true });
});
afterAll(async () => {
  await h?.stop();
});

const front = () => h.stack.frontEnd!;
const pushAccount = () => serviceAccountEmail({ project: h.stack.projectId }, 'push');
/** A run request as Pub/Sub would push it. */
const envelope = (partition: string) => ({
  message: {
    data: Buffer.from(JSON.stringify({ partition, triggerSource: 'manual' })).toString('base64'),
    messageId: `direct-${partition}`,
    attributes: {},
  },
  subscription: `projects/${h.stack.projectId}/subscriptions/run-requests-sub`,
});
const post = (url: string, headers: Record<string, string>, body: unknown) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
const runsFor = async (partition: string) =>
  h.store.query(COLLECTIONS.runs, { filters: [{ field: 'partition', op: '==', value: partition }] });

describe('behind the local Cloud Run IAM front end', () => {
  it('runs a pipeline to SUCCESS: every push carried a token, IAM stripped it, every function checked its claims', async () => {
    const messageId = await h.publishJson(TOPICS.runRequests, {
      partition: '2024-04-21',
      triggerSource: 'manual',
    });
    const runId = (await findRunByMessage(h.store, messageId))?.runId;
    expect(runId).toBeDefined();
    let status: unknown;
    await eventually(
      async () => {
        status = (await h.store.get(COLLECTIONS.runs, runId!))?.status;
        return ['SUCCESS', 'PARTIAL', 'FAILED'].includes(String(status));
      },
      { timeoutMs: 90_000, what: () => `run ${runId} to finish (now ${String(status)})` },
    );
    expect(status).toBe('SUCCESS');
    expect(front().refusals).toEqual([]);
  });

  it('refuses a forged, expired, wrong-audience or unsigned token at the front end; the function never sees it', async () => {
    const url = `${front().functionUrl('orchestrator-runs')}/projects/${h.stack.projectId}/topics/${TOPICS.runRequests}`;
    const audience = front().functionUrl('orchestrator-runs');
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const forger = { ...(await exportJWK(publicKey)), kid: 'forger' };
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ email: pushAccount(), email_verified: true })
      .setProtectedHeader({ alg: 'RS256', kid: forger.kid })
      .setIssuer('https://accounts.google.com')
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(privateKey);
    const expired = await front().mint({ email: pushAccount(), audience, expiresInSeconds: -60 });
    const wrongAudience = await front().mint({
      email: pushAccount(),
      audience: front().functionUrl('orchestrator-completions'),
    });
    const genuine = await front().mint({ email: pushAccount(), audience });
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${genuine.split('.')[1]}.`;
    const alreadyStripped = `${genuine.split('.').slice(0, 2).join('.')}.${SIGNATURE_REMOVED}`;
    const stranger = await front().mint({ email: 'someone@example.com', audience });

    const cases: [string, string | undefined, number][] = [
      ['no token', undefined, 401],
      ['forged', forged, 401],
      ['expired', expired, 401],
      ['wrong audience', wrongAudience, 401],
      ['unsigned', unsigned, 401],
      ['signature already removed', alreadyStripped, 401],
      ['not an invoker', stranger, 403],
    ];
    for (const [what, token, status] of cases) {
      const response = await post(
        url,
        token ? { authorization: `Bearer ${token}` } : {},
        envelope(`1990-01-0${cases.findIndex((c) => c[0] === what) + 1}`),
      );
      expect(response.status, what).toBe(status);
    }
    expect(front().refusals.map((r) => r.status)).toEqual(cases.map((c) => c[2]));
    // None reached the orchestrator: no run for any of those dates.
    for (let i = 1; i <= cases.length; i++)
      expect(await runsFor(`1990-01-0${i}`), `1990-01-0${i}`).toEqual([]);
    front().refusals.length = 0;
  });

  it(
    'a function reached around the front end checks the claims it is given: no token, or a stripped one for ' +
      'another function or caller, is refused',
    async () => {
      const fn = h.stack.functions.get('orchestrator-runs')!;
      const url = `${fn.url}/projects/${h.stack.projectId}/topics/${TOPICS.runRequests}`;
      const strip = (jwt: string) => `${jwt.split('.').slice(0, 2).join('.')}.${SIGNATURE_REMOVED}`;
      const otherFunction = strip(
        await front().mint({ email: pushAccount(), audience: front().functionUrl('phase-alpha') }),
      );
      const otherCaller = strip(
        await front().mint({
          email: 'someone@example.com',
          audience: front().functionUrl('orchestrator-runs'),
        }),
      );
      const expired = strip(
        await front().mint({
          email: pushAccount(),
          audience: front().functionUrl('orchestrator-runs'),
          expiresInSeconds: -60,
        }),
      );
      expect((await post(url, {}, envelope('1990-02-01'))).status).toBe(401);
      expect(
        (await post(url, { authorization: `Bearer ${otherFunction}` }, envelope('1990-02-02'))).status,
      ).toBe(403);
      expect(
        (await post(url, { authorization: `Bearer ${otherCaller}` }, envelope('1990-02-03'))).status,
      ).toBe(403);
      expect((await post(url, { authorization: `Bearer ${expired}` }, envelope('1990-02-04'))).status).toBe(
        401,
      );
      for (const day of ['01', '02', '03', '04']) expect(await runsFor(`1990-02-${day}`)).toEqual([]);
    },
  );

  it(
    'serves the dashboard to its invokers: read through the proxy, act with a same-origin JSON POST, strangers ' +
      'refused at IAM',
    async () => {
      const state = await fetch(`${h.stack.dashboardUrl}/api/state`);
      expect(state.status).toBe(200);
      const page = { 'sec-fetch-site': 'same-origin', origin: h.stack.dashboardUrl };
      const act = await post(`${h.stack.dashboardUrl}/api/queue/no-such-entry/resolve`, page, {
        note: 'checked by hand',
      });
      // Past IAM and the dashboard's own checks: the entry does not exist.
      expect([404, 409]).toContain(act.status);
      const crossSite = await post(
        `${h.stack.dashboardUrl}/api/queue/no-such-entry/resolve`,
        { 'sec-fetch-site': 'cross-site' },
        { note: 'from a page elsewhere' },
      );
      expect(crossSite.status).toBe(403);
      const rebound = await post(
        `${h.stack.dashboardUrl}/api/queue/no-such-entry/resolve`,
        { ...page, origin: 'http://attacker.example:8080' },
        { note: 'rebound name' },
      );
      expect(rebound.status).toBe(403);
      const stranger = await front().mint({
        email: 'stranger@example.com',
        audience: front().functionUrl('dashboard'),
      });
      expect(
        (
          await fetch(`${front().functionUrl('dashboard')}/api/state`, {
            headers: { authorization: `Bearer ${stranger}` },
          })
        ).status,
      ).toBe(403);
      const operator = await front().mint({
        email: LOCAL_OPERATOR,
        audience: front().functionUrl('dashboard'),
      });
      expect(
        (
          await fetch(`${front().functionUrl('dashboard')}/api/state`, {
            headers: { authorization: `Bearer ${operator}` },
          })
        ).status,
      ).toBe(200);
    },
  );
});
