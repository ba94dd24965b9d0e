import type { Logger } from '../ports/logger.ts';
import { eventFromPush } from './push-envelope.ts';
import type { PubSubCloudEvent } from './pubsub-event.ts';

export type RequestHeaders = Record<string, string | undefined>;

export interface PushRequest {
  path: string;
  /** Lower-case names, as Node gives them. */
  headers: RequestHeaders;
  body: unknown;
}

export interface PushResponse {
  status: number;
  body: string;
}

export type PushAuthResult = { ok: true; email: string } | { ok: false; status: 401 | 403; reason: string };
/** Checks the push's token (`Authorization`, or `X-Serverless-Authorization` behind IAM); absent when authentication is off. */
export type PushAuthCheck = (headers: RequestHeaders) => Promise<PushAuthResult>;

/**
 * The ack contract of every Pub/Sub-driven function, stated here once:
 *
 * - **Return means ack** (204): the handler returned, so the message is done with.
 * - **Throw means redeliver** (500): Pub/Sub delivers it again with backoff and, after
 *   maxDeliveryAttempts, dead-letters it to the recorder. Nothing between a processor and this
 *   endpoint may swallow an error, so a failure is never acked by accident.
 * - **A failure not worth redelivering is first recorded durably, then acked on purpose**: a
 *   message that cannot parse, a permanent failure, a source that has not published. Redelivering
 *   them would only spend deliveries and end in the dead-letter topic. The record comes first (a
 *   queue entry and an event) because an ack is final: a record that fails throws, and the
 *   redelivery records it; an ack before the record could lose the failure.
 *
 * Every such function is this HTTP endpoint, called by its push subscription with the push
 * envelope: the same code path on the emulators and in production. Any answer but a 2xx makes
 * Pub/Sub redeliver (a refused token is 401 or 403, a body that is no push envelope 400).
 */
export function createPushHandler(
  name: string,
  handle: (event: PubSubCloudEvent) => Promise<void>,
  deps: { logger: Logger; auth?: PushAuthCheck },
) {
  return async function push(req: PushRequest): Promise<PushResponse> {
    if (deps.auth) {
      const verdict = await deps.auth(req.headers);
      if (!verdict.ok) {
        deps.logger.warn({ function: name, status: verdict.status, reason: verdict.reason }, 'push refused');
        return { status: verdict.status, body: verdict.reason };
      }
    }
    const event = eventFromPush(req.body, req.path);
    if (!event) {
      // Not a Pub/Sub push body: refuse it loudly. A real push redelivered this way ends in the dead-letter topic.
      deps.logger.error({ function: name, path: req.path }, 'request body is not a Pub/Sub push envelope');
      return {
        status: 400,
        body: 'expected a Pub/Sub push envelope: {"message":{"data":...,"messageId":...},"subscription":...}',
      };
    }
    try {
      await handle(event);
      return { status: 204, body: '' };
    } catch (error) {
      deps.logger.error(
        { function: name, messageId: event.id, err: error instanceof Error ? error.message : String(error) },
        'handler failed; Pub/Sub will redeliver',
      );
      return { status: 500, body: 'handler failed' };
    }
  };
}
