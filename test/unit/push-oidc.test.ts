import { describe, expect, it } from 'vitest';
import { SIGNATURE_REMOVED } from '../../shared/adapters/push-auth.ts';
import {
  AUDIENCE,
  bearer,
  otherKey,
  past,
  PUSH_SA,
  stripped,
  token,
  verifier,
} from '../support/push-tokens.ts';

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
