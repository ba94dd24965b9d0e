import { describeError } from '../errors/describe.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { DocumentStore } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { slackPayload, type WebhookFormat } from './slack-payload.ts';

export const ALERT_KINDS = [
  'failed_permanent',
  'gate_failed',
  'stalled',
  'control_dlq',
  'daily_summary',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export interface Alert {
  kind: AlertKind;
  /** What makes two alerts "the same outage" (e.g. kind, phase and error reason, not the request). */
  dedupKey: string;
  runId: string | null;
  /** The partition the alert is about (of the run, or the earlier partition a run waits for). */
  partition: string | null;
  phase: string | null;
  processor: string | null;
  /** The queue entry to retry, where there is one (a permanent failure). */
  requestId?: string | null;
  message: string;
  /** Figures behind the message (the daily summary's), sent as they are in the JSON format. */
  details?: Record<string, unknown>;
}

/** A failed webhook POST is tried again no sooner than this. */
export const RESEND_AFTER_MS = 60_000;

export type Notifier = ((alert: Alert) => Promise<void>) & {
  /** POSTs again every alert whose webhook delivery failed (the reconciler calls it each tick); how many went out. */
  resendPending?: () => Promise<number>;
};

/**
 * A structured log line always; a webhook POST when configured. Deduplicated through
 * `alerts/{dedupKey}`: one outage within the window is one alert, the rest are counted.
 * A failing webhook is logged and kept for `resendPending`, never thrown.
 */
export function createNotifier(deps: {
  store: DocumentStore;
  logger: Logger;
  clock: Clock;
  webhookUrl?: string;
  /** `json` (the alert as it is, the default) or `slack` (an incoming-webhook message: text and blocks). */
  webhookFormat?: WebhookFormat;
  /** Who sends, named in a Slack title: the project id. */
  source?: string;
  windowMs?: number;
  fetch?: typeof fetch;
}): Notifier {
  const windowMs = deps.windowMs ?? 30 * 60_000;
  const doFetch = deps.fetch ?? fetch;
  const notify: Notifier = async (alert) => {
    const now = deps.clock.now();
    const id = alert.dedupKey.replace(/\//g, '_').slice(0, 400);
    const send = await deps.store.transaction(async (tx) => {
      const previous = await tx.get(COLLECTIONS.alerts, id);
      const lastSentAt = typeof previous?.lastSentAt === 'string' ? Date.parse(previous.lastSentAt) : 0;
      const fresh = now.getTime() - lastSentAt >= windowMs;
      tx.set(
        COLLECTIONS.alerts,
        id,
        {
          ...alert,
          lastSeenAt: now.toISOString(),
          lastSentAt: fresh ? now.toISOString() : (previous?.lastSentAt ?? null),
          suppressed: fresh ? 0 : (typeof previous?.suppressed === 'number' ? previous.suppressed : 0) + 1,
          occurrences: (typeof previous?.occurrences === 'number' ? previous.occurrences : 0) + 1,
        },
        { merge: true },
      );
      return fresh;
    });
    if (!send) {
      deps.logger.info(
        { alert: alert.kind, dedupKey: alert.dedupKey },
        'alert suppressed (same outage, inside the dedup window)',
      );
      return;
    }
    // The daily summary is news, not an outage: an info line, not an ALERT.
    const log =
      alert.kind === 'daily_summary'
        ? deps.logger.info.bind(deps.logger)
        : deps.logger.error.bind(deps.logger);
    log(
      {
        alert: alert.kind,
        dedupKey: alert.dedupKey,
        runId: alert.runId,
        partition: alert.partition,
        phase: alert.phase,
        processor: alert.processor,
      },
      alert.kind === 'daily_summary'
        ? `DAILY HEALTH ${alert.message}`
        : `ALERT ${alert.kind}: ${alert.message}`,
    );
    if (!deps.webhookUrl) return;
    await post(id, { ...alert, at: now.toISOString() });
  };

  /**
   * One webhook delivery. A failure is recorded on the alert (`webhookPending`, the error) and
   * never thrown: an alert must not make a delivery fail, and a POST that failed is not an alert
   * sent, so `resendPending` tries it again.
   */
  async function post(id: string, payload: Alert & { at: string }): Promise<boolean> {
    let failure: string | null = null;
    try {
      const response = await doFetch(deps.webhookUrl!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(
          deps.webhookFormat === 'slack'
            ? slackPayload(payload, deps.source ?? 'pipeline', payload.at)
            : payload,
        ),
        signal: AbortSignal.timeout(5000),
      });
      if (!response.ok) failure = `webhook answered ${response.status}`;
    } catch (error) {
      failure = describeError(error).message;
    }
    const at = deps.clock.now().toISOString();
    if (failure)
      deps.logger.warn(
        { dedupKey: payload.dedupKey, err: failure },
        'alert webhook failed; it is sent again on the next reconcile tick',
      );
    try {
      await deps.store.set(
        COLLECTIONS.alerts,
        id,
        failure
          ? { webhookPending: true, webhookPayload: payload, webhookError: failure, webhookFailedAt: at }
          : { webhookPending: false, webhookError: null, webhookDeliveredAt: at },
        { merge: true },
      );
    } catch (error) {
      // Never thrown: an alert must not make a delivery fail (the log line above still says it).
      deps.logger.warn(
        { dedupKey: payload.dedupKey, err: describeError(error).message },
        'could not record the webhook delivery of an alert',
      );
    }
    return failure === null;
  }

  notify.resendPending = async () => {
    if (!deps.webhookUrl) return 0;
    const pending = await deps.store.query(COLLECTIONS.alerts, {
      filters: [{ field: 'webhookPending', op: '==', value: true }],
      limit: 100,
    });
    let sent = 0;
    const now = deps.clock.now().getTime();
    for (const doc of pending) {
      // At most once a minute per alert: a webhook that is down is not hammered every tick.
      const failedAt =
        typeof doc.data.webhookFailedAt === 'string' ? Date.parse(doc.data.webhookFailedAt) : 0;
      if (now - failedAt < RESEND_AFTER_MS) continue;
      if (await post(doc.id, doc.data.webhookPayload as Alert & { at: string })) sent += 1;
    }
    return sent;
  };
  return notify;
}
