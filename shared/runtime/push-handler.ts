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
 * One Pub/Sub-driven function as the HTTP endpoint its push subscription calls: the same code
 * path on the emulators and in production. 204 acks; anything else makes Pub/Sub redeliver
 * and, after maxDeliveryAttempts, dead-letter. A handler that throws is a 500, never a 2xx.
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
