import type { Alert } from './notifier.ts';

/** What the webhook is sent: phasegate's own JSON, or a Slack incoming-webhook message (text and blocks). */
export const WEBHOOK_FORMATS = ['json', 'slack'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** Slack's limits (api.slack.com/reference/block-kit/blocks): a header 150 characters, a section 3000, a field 2000. */
const HEADER_MAX = 150;
const SECTION_MAX = 3000;
const FIELD_MAX = 2000;

const quote = (value: string): string => `"${value.replace(/(["\\$`])/g, '\\$1')}"`;

/**
 * The one command an operator runs once the cause is fixed, by what the alert is about: a permanent
 * failure is retried by its entry, a failed gate by its phase's open entries of the partition, a
 * stall restarts its phase, control-dlq is pulled to look at (README: "Recovery").
 */
export function fixCommand(alert: Alert): string {
  const note = '--note "<what you fixed>"';
  const range = alert.partition ? ` --from ${alert.partition} --to ${alert.partition}` : '';
  switch (alert.kind) {
    case 'failed_permanent':
      if (alert.requestId) return `phasegate queue retry ${quote(alert.requestId)} ${note}`;
      return `phasegate queue retry --status failed_permanent${range} ${note} --dry-run`;
    case 'gate_failed':
      return `phasegate queue retry${alert.phase ? ` --phase ${quote(alert.phase)}` : ''}${range} ${note} --dry-run`;
    case 'stalled':
      return alert.partition && alert.phase
        ? `phasegate trigger --partition ${alert.partition} --start-phase ${quote(alert.phase)} --force`
        : `phasegate status${alert.runId ? ` --run ${quote(alert.runId)}` : ''}`;
    case 'control_dlq':
      return 'gcloud pubsub subscriptions pull control-dlq-sub --limit=10';
    case 'daily_summary':
      // Not a fix: where the figures come from, with the day before and today beside them.
      return 'phasegate health --days 2';
  }
}

/** Slack's mrkdwn gives `&`, `<` and `>` meaning: an error message must not turn into a link or a mention. */
export const mrkdwnEscape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

const TITLES: Record<Alert['kind'], string> = {
  failed_permanent: 'NEEDS MANUAL FIX',
  gate_failed: 'gate failed',
  stalled: 'stalled',
  control_dlq: 'held on control-dlq',
  daily_summary: 'daily health',
};

/** An error inside a code block: a "```" inside it would end the block early. */
const codeBlock = (text: string, max: number): string =>
  '```' + cut(mrkdwnEscape(text.replace(/```/g, "'''")), max - 6) + '```';

const field = (name: string, value: string) => ({
  type: 'mrkdwn',
  text: cut(`*${name}*\n${mrkdwnEscape(value)}`, FIELD_MAX),
});

/** The daily summary as figures side by side (its details), the paragraph as the notification text. */
function summaryPayload(alert: Alert, pipeline: string) {
  const d = alert.details ?? {};
  const shown = (value: unknown): string =>
    typeof value === 'number' || typeof value === 'string'
      ? String(value)
      : value && typeof value === 'object'
        ? Object.entries(value)
            .map(([k, v]) => `${k} ${typeof v === 'number' ? v : JSON.stringify(v)}`)
            .join(', ') || 'none'
        : '-';
  const title = `phasegate ${pipeline}: daily health ${shown(d.day)}`;
  return {
    text: cut(`${title}: ${alert.message}`, SECTION_MAX),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: cut(title, HEADER_MAX) } },
      {
        type: 'section',
        fields: [
          field('Runs', shown(d.runsByStatus)),
          field('Failed attempts', shown(d.failures)),
          field('Dead letters', shown(d.deadLetters)),
          field('Queue depth max', shown(d.queueDepthMax)),
          field('Open entries now', shown(d.openQueueEntries)),
          field('NEEDS MANUAL FIX now', shown(d.needsManualFix)),
          field('control-dlq max', shown(d.controlDlqMax)),
        ],
      },
      { type: 'section', text: { type: 'mrkdwn', text: cut(mrkdwnEscape(alert.message), SECTION_MAX) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: '`' + fixCommand(alert) + '`' }] },
    ],
  };
}

/** A Slack incoming-webhook message: `text` for notifications and old clients, `blocks` for the channel. */
export function slackPayload(alert: Alert, pipeline: string, at: string) {
  if (alert.kind === 'daily_summary') return summaryPayload(alert, pipeline);
  const title = `phasegate ${pipeline}: ${TITLES[alert.kind]}${alert.phase ? ` in ${alert.phase}` : ''}`;
  const fields = [
    ['Run', alert.runId],
    ['Partition', alert.partition],
    ['Phase', alert.phase],
    ['Processor', alert.processor],
  ]
    .filter((pair): pair is [string, string] => typeof pair[1] === 'string' && pair[1] !== '')
    .map(([name, value]) => field(name, value));
  const command = fixCommand(alert);
  return {
    text: cut(`${title}: ${alert.message}`, SECTION_MAX),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: cut(title, HEADER_MAX) } },
      ...(fields.length > 0 ? [{ type: 'section', fields }] : []),
      {
        type: 'section',
        text: { type: 'mrkdwn', text: '*Error*\n' + codeBlock(alert.message, SECTION_MAX - 8) },
      },
      { type: 'section', text: { type: 'mrkdwn', text: '*Fix*\n' + codeBlock(command, SECTION_MAX - 6) } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `${alert.kind} · ${at} · dedup ${mrkdwnEscape(alert.dedupKey)}` }],
      },
    ],
  };
}
