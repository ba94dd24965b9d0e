import type * as functions from '@google-cloud/functions-framework';
import type { Logger } from '../ports/logger.ts';
import { createPushHandler } from '../runtime/ack-contract.ts';
import type { PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import { loadPushAuth, pushAuthCheck } from './push-auth.ts';

/** What a function answers: its status, body and headers. */
export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** One function's answer to a functions-framework request. */
export type Endpoint = (req: functions.Request) => Promise<Answer>;

export const headersOf = (req: functions.Request): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));

/**
 * A Pub/Sub-driven function: the HTTP endpoint its push subscription calls with the push envelope,
 * on the emulators and in production alike, answering as ack-contract.ts says. Its authentication
 * is read from the environment when it is built.
 */
export function pushEndpoint(
  name: string,
  handle: (event: PubSubCloudEvent) => Promise<void>,
  logger: Logger,
): Endpoint {
  const push = createPushHandler(name, handle, { logger, auth: pushAuthCheck(loadPushAuth(process.env)) });
  return (req) => push({ path: req.path, headers: headersOf(req), body: req.body as unknown });
}

/**
 * Answers one request once the instance (its clients, and what is built from them) exists. A
 * failure is logged and answered 500 (for a push: Pub/Sub redelivers); an instance that cannot be
 * built is logged as a structured line on stderr, since there is no logger without it.
 */
export function answer<I extends { logger: Logger }>(
  res: functions.Response,
  what: string,
  internal: unknown,
  instance: () => Promise<I>,
  work: (instance: I) => Promise<Answer>,
): void {
  const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
  instance().then(
    async (built) => {
      try {
        const response = await work(built);
        res
          .status(response.status)
          .set(response.headers ?? {})
          .send(response.body);
      } catch (error) {
        built.logger.error({ function: what, err: message(error) }, `${what} failed`);
        res.status(500).send(internal);
      }
    },
    (error: unknown) => {
      const line = {
        severity: 'ERROR',
        function: what,
        err: message(error),
        message: 'the function cannot build its clients',
      };
      process.stderr.write(`${JSON.stringify(line)}\n`);
      res.status(500).send(internal);
    },
  );
}
