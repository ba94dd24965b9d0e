import type { Alert } from './notifier.ts';

/** What the webhook is sent: phasegate's own JSON, or a Slack incoming-webhook message (text and blocks). */
export const WEBHOOK_FORMATS = ['json', 'slack'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** Slack's limits (api.slack.com/reference/block-kit/blocks): a header 150 characters, a section 3000, a field 2000. */
const HEADER_MAX = 150;
const SECTION_MAX = 3000;
const FIELD_MAX = 2000;

/** A shell word: single quotes, nothing inside them expanded (`$`, backticks, `!`). */
export const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * The one command an operator runs once the cause is fixed, by what the alert is about, against the
 * project that sent it: a permanent failure is retried by its entry (and, on a second line, every
 * entry of the same outage, as a dry run first), a failed gate or an earlier partition that failed by
 * the open entries of the partition, a stall restarts its phase, control-dlq is pulled to look at.
 */
export function fixCommands(alert: Alert, project?: string): string[] {
  const cli = project ? `phasegate --project ${shellQuote(project)}` : 'phasegate';
  const note = `--note ${shellQuote('<what you fixed>')}`;
  const range = alert.partition ? ` --from ${alert.partition} --to ${alert.partition}` : '';
  const phase = alert.phase ? ` --phase ${shellQuote(alert.phase)}` : '';
  switch (alert.kind) {
    case 'failed_permanent':
      if (alert.requestId && alert.processor)
        return [
          `${cli} queue retry ${shellQuote(alert.requestId)} ${note}`,
          `${cli} queue retry --status failed_permanent${phase} --processor ${shellQuote(alert.processor)} ${note} --dry-run`,
        ];
      if (alert.requestId) return [`${cli} queue retry ${shellQuote(alert.requestId)} ${note}`];
      // An earlier partition that did not succeed: its open entries, whatever they wait for.
      return [`${cli} queue retry${range} ${note} --dry-run`];
    case 'gate_failed':
      return [`${cli} queue retry${phase}${range} ${note} --dry-run`];
    case 'stalled':
      return [
        alert.partition && alert.phase
          ? `${cli} trigger --partition ${alert.partition} --start-phase ${shellQuote(alert.phase)} --force`
          : `${cli} status${alert.runId ? ` --run ${shellQuote(alert.runId)}` : ''}`,
      ];
    case 'control_dlq':
      return [
        `gcloud pubsub subscriptions pull control-dlq-sub --limit=10${project ? ` --project=${shellQuote(project)}` : ''}`,
      ];
    case 'daily_summary':
      // Not a fix: where the figures come from, with the day before and today beside them.
      return [`${cli} health --days 2`];
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
function summaryPayload(alert: Alert, project: string) {
  const d = alert.details ?? {};
  const shown = (value: unknown): string =>
    typeof value === 'number' || typeof value === 'string'
      ? String(value)
      : value && typeof value === 'object'
        ? Object.entries(value)
            .map(([k, v]) => `${k} ${typeof v === 'number' ? v : JSON.stringify(v)}`)
            .join(', ') || 'none'
        : '-';
  const title = `phasegate ${project}: daily health ${shown(d.day)}`;
  return {
    text: cut(mrkdwnEscape(`${title}: ${alert.message}`), SECTION_MAX),
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
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: cut('`' + mrkdwnEscape(fixCommands(alert, project)[0]!) + '`', SECTION_MAX),
          },
        ],
      },
    ],
  };
}

/** A Slack incoming-webhook message: `text` for notifications and old clients, `blocks` for the channel. */
export function slackPayload(alert: Alert, project: string, at: string) {
  if (alert.kind === 'daily_summary') return summaryPayload(alert, project);
  const title = `phasegate ${project}: ${TITLES[alert.kind]}${alert.phase ? ` in ${alert.phase}` : ''}`;
  const fields = [
    ['Run', alert.runId],
    ['Partition', alert.partition],
    ['Phase', alert.phase],
    ['Processor', alert.processor],
  ]
    .filter((pair): pair is [string, string] => typeof pair[1] === 'string' && pair[1] !== '')
    .map(([name, value]) => field(name, value));
  const command = fixCommands(alert, project).join('\n');
  return {
    text: cut(mrkdwnEscape(`${title}: ${alert.message}`), SECTION_MAX),
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
        elements: [
          {
            type: 'mrkdwn',
            text: cut(`${alert.kind} · ${at} · dedup ${mrkdwnEscape(alert.dedupKey)}`, SECTION_MAX),
          },
        ],
      },
    ],
  };
}
