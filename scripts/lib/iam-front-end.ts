import { randomUUID } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, errors, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
import { GOOGLE_ISSUERS, SIGNATURE_REMOVED } from '../../shared/adapters/push-auth.ts';

/**
 * What the emulators leave out of production's request path, on this machine: Pub/Sub push
 * attaching an OIDC token, and Cloud Run IAM verifying it before the function sees the request.
 *
 *   emulator -> /_pubsub/<fn>/... : mints the push token as Pub/Sub would (its own keys here)
 *   anyone   -> /<fn>/...         : as Cloud Run IAM: verifies signature, issuer, audience
 *                                   (this URL) and expiry, and that the caller is an invoker of
 *                                   <fn>; replaces the signature with SIGNATURE_REMOVED_BY_GOOGLE
 *                                   and forwards to the function's own port, path after <fn>.
 *
 * It does not add what the function itself must check: the function (PHASEGATE_AUTH=iam) still
 * checks the claims it is given. `proxy()` plays `gcloud run services proxy` for a browser.
 */
export interface IamFrontEnd {
  url: string;
  /** A function's URL behind IAM: its push audience. */
  functionUrl(name: string): string;
  /** Where a push subscription on the emulator delivers for `name`. */
  pushUrl(name: string): string;
  /** Mints an ID token with this front end's keys, as Google would for `email`. */
  mint(claims: { email: string; audience: string; expiresInSeconds?: number }): Promise<string>;
  /** What IAM refused, newest last (for tests and the npm start log). */
  refusals: { function: string; status: number; reason: string }[];
  /** Like `gcloud run services proxy`: a local port that calls `name` as `email`. */
  proxy(name: string, email: string): Promise<{ url: string; close(): Promise<void> }>;
  close(): Promise<void>;
}

export interface IamFrontEndOptions {
  /** The function's own port, or undefined while it is not running. */
  portOf(name: string): number | undefined;
  /** Members with roles/run.invoker on each function (emails). */
  invokers(name: string): readonly string[];
  /** The account the push subscriptions sign as (`--push-auth-service-account`). */
  pushServiceAccount: string;
  port?: number;
}

const listen = (server: Server, port = 0) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
const closeServer = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** Passes the request on to 127.0.0.1:port (its own Host), and the answer back. */
function forward(
  req: IncomingMessage,
  res: ServerResponse,
  port: number,
  path: string,
  given: IncomingMessage['headers'],
): void {
  const { host: _host, ...headers } = given;
  const upstream = httpRequest({ host: '127.0.0.1', port, method: req.method, path, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', (error) => {
    if (!res.headersSent) res.writeHead(503, { 'content-type': 'text/plain' });
    res.end(`service unavailable: ${error.message}`);
  });
  req.pipe(upstream);
}

/** Starts the front end; functions may start after it (their URLs are known before their ports). */
export async function startIamFrontEnd(options: IamFrontEndOptions): Promise<IamFrontEnd> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const kid = randomUUID();
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const keys = createLocalJWKSet({ keys: [jwk] });
  const refusals: IamFrontEnd['refusals'] = [];
  let base = '';

  const mint: IamFrontEnd['mint'] = async ({ email, audience, expiresInSeconds = 3600 }) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ email, email_verified: true, azp: email })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(GOOGLE_ISSUERS[0]!)
      .setAudience(audience)
      .setSubject(email)
      .setIssuedAt(now)
      .setExpirationTime(now + expiresInSeconds)
      .sign(privateKey);
  };

  /** Cloud Run IAM: 401 for no or a bad token, 403 for a good token of a caller who may not invoke. */
  async function admit(
    name: string,
    headers: IncomingMessage['headers'],
  ): Promise<
    | { header: 'authorization' | 'x-serverless-authorization'; token: string }
    | { status: 401 | 403; reason: string }
  > {
    const header = headers['x-serverless-authorization'] ? 'x-serverless-authorization' : 'authorization';
    const token = /^Bearer (\S+)$/.exec(String(headers[header] ?? ''))?.[1];
    if (!token) return { status: 401, reason: 'no bearer token' };
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: GOOGLE_ISSUERS,
        audience: `${base}/${name}`,
        algorithms: ['RS256'],
      });
      const email =
        typeof payload.email === 'string' && payload.email_verified === true ? payload.email : undefined;
      if (!email || !options.invokers(name).includes(email))
        return { status: 403, reason: `${email ?? 'the caller'} may not invoke ${name}` };
      const [head, body] = token.split('.');
      return { header, token: `${head}.${body}.${SIGNATURE_REMOVED}` };
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { status: 401, reason: 'token expired' };
      return {
        status: 401,
        reason: `invalid token: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://front-end');
    const fromPubSub = url.pathname.startsWith('/_pubsub/');
    const [, name = '', ...rest] = (fromPubSub ? url.pathname.slice('/_pubsub'.length) : url.pathname).split(
      '/',
    );
    const port = options.portOf(name);
    if (!name || port === undefined) {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end(`no function ${name || '(none)'} behind this front end`);
      return;
    }
    const headers = { ...req.headers };
    if (fromPubSub) {
      // Pub/Sub push: the subscription's service account, the subscription's audience.
      headers.authorization = `Bearer ${await mint({ email: options.pushServiceAccount, audience: `${base}/${name}` })}`;
    }
    const verdict = await admit(name, headers);
    if ('status' in verdict) {
      refusals.push({ function: name, ...verdict });
      res
        .writeHead(verdict.status, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' })
        .end(`Cloud Run IAM (local): ${verdict.reason}`);
      return;
    }
    headers[verdict.header] = `Bearer ${verdict.token}`;
    forward(req, res, port, `/${rest.join('/')}${url.search}`, headers);
  }

  const server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`front end failed: ${String(error)}`);
    });
  });
  base = `http://127.0.0.1:${await listen(server, options.port)}`;
  const proxies = new Set<Server>();

  return {
    url: base,
    functionUrl: (name) => `${base}/${name}`,
    pushUrl: (name) => `${base}/_pubsub/${name}`,
    mint,
    refusals,
    async proxy(name, email) {
      const frontPort = Number(new URL(base).port);
      const proxyServer = createServer((req, res) => {
        mint({ email, audience: `${base}/${name}` }).then(
          (token) =>
            forward(req, res, frontPort, `/${name}${req.url ?? '/'}`, {
              ...req.headers,
              authorization: `Bearer ${token}`,
            }),
          (error: unknown) => res.writeHead(500).end(String(error)),
        );
      });
      proxies.add(proxyServer);
      const port = await listen(proxyServer);
      return {
        url: `http://127.0.0.1:${port}`,
        close: async () => {
          proxies.delete(proxyServer);
          await closeServer(proxyServer);
        },
      };
    },
    async close() {
      server.closeAllConnections();
      for (const p of proxies) p.closeAllConnections();
      await Promise.all([closeServer(server), ...[...proxies].map(closeServer)]);
    },
  };
}
