import { describe, expect, it } from 'vitest';
import { AuthConfigError, loadPushAuth } from '../../shared/adapters/push-auth.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { createPushHandler } from '../../shared/runtime/ack-contract.ts';
import type { PubSubCloudEvent } from '../../shared/runtime/pubsub-event.ts';
import { AUDIENCE, bearer, past, PUSH_SA, stripped, token, verifier } from '../support/push-tokens.ts';

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
