import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.ts';
import { createNotifier, type Alert } from '../../shared/recovery/notifier.ts';
import { fixCommand, mrkdwnEscape, slackPayload } from '../../shared/recovery/slack-payload.ts';
import { setup } from '../support/recovery-setup.ts';

const alert: Alert = {
  kind: 'failed_permanent',
  dedupKey: 'failed_permanent:scrape:games:validation',
  runId: 'run-2024-05-01-abc',
  partition: '2024-05-01',
  phase: 'scrape',
  processor: 'games',
  requestId: '2024-05-01_run-abc_scrape_games',
  message: '2024-05-01_run-abc_scrape_games: bad row <!channel> & <https://evil|click>',
};

type Block = {
  type: string;
  text?: { text: string };
  fields?: { text: string }[];
  elements?: { text: string }[];
};
const texts = (blocks: Block[]): string[] =>
  blocks
    .flatMap((b) => [
      b.text?.text,
      ...(b.fields ?? []).map((f) => f.text),
      ...(b.elements ?? []).map((e) => e.text),
    ])
    .filter((t): t is string => typeof t === 'string');

describe('the Slack webhook format', () => {
  it('posts text and blocks naming the run, the partition, the error and the command that fixes it', async () => {
    const d = setup();
    const bodies: unknown[] = [];
    const notify = createNotifier({
      store: d.store,
      logger: d.logger,
      clock: d.clock,
      webhookUrl: 'http://hook',
      webhookFormat: 'slack',
      source: 'demo-project',
      fetch: ((_url: string, init: { body: string }) => {
        bodies.push(JSON.parse(init.body));
        return Promise.resolve(new Response('ok'));
      }) as unknown as typeof fetch,
    });
    await notify(alert);
    expect(bodies).toHaveLength(1);
    const body = bodies[0] as { text: string; blocks: Block[] };
    expect(body.text).toContain('phasegate demo-project: NEEDS MANUAL FIX in scrape');
    expect(body.blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text' } });
    const all = texts(body.blocks).join('\n');
    for (const shown of ['*Run*\nrun-2024-05-01-abc', '*Partition*\n2024-05-01', '*Processor*\ngames'])
      expect(all).toContain(shown);
    expect(all).toContain(
      'phasegate queue retry "2024-05-01_run-abc_scrape_games" --note "<what you fixed>"'
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;'),
    );
    // An error message cannot mention the channel or turn into a link.
    expect(all).not.toContain('<!channel>');
    expect(all).toContain('&lt;!channel&gt; &amp; &lt;https://evil|click&gt;');
  });

  it("keeps within Slack's limits whatever the message", () => {
    const long = { ...alert, phase: 'p'.repeat(400), message: '```' + 'x'.repeat(10_000) };
    const { text, blocks } = slackPayload(long, 'demo', '2024-05-01T00:00:00.000Z');
    expect(text.length).toBeLessThanOrEqual(3000);
    expect((blocks[0] as Block).text!.text.length).toBeLessThanOrEqual(150);
    for (const block of blocks as Block[]) {
      if (block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000);
      for (const field of block.fields ?? []) expect(field.text.length).toBeLessThanOrEqual(2000);
    }
    // A code fence inside the error does not close the error's block early.
    const error = (blocks as Block[]).find((b) => b.text?.text.startsWith('*Error*'))!.text!.text;
    expect(error.match(/```/g)).toHaveLength(2);
  });

  it('names one fixing command for each kind of alert', () => {
    expect(fixCommand({ ...alert, requestId: null, runId: null, phase: 'dependencies' })).toBe(
      'phasegate queue retry --status failed_permanent --from 2024-05-01 --to 2024-05-01 --note "<what you fixed>" --dry-run',
    );
    expect(fixCommand({ ...alert, kind: 'gate_failed', requestId: null, processor: null })).toBe(
      'phasegate queue retry --phase "scrape" --from 2024-05-01 --to 2024-05-01 --note "<what you fixed>" --dry-run',
    );
    expect(fixCommand({ ...alert, kind: 'stalled' })).toBe(
      'phasegate trigger --partition 2024-05-01 --start-phase "scrape" --force',
    );
    expect(fixCommand({ ...alert, kind: 'control_dlq', runId: null, partition: null, phase: null })).toBe(
      'gcloud pubsub subscriptions pull control-dlq-sub --limit=10',
    );
    expect(fixCommand({ ...alert, requestId: 'a"b$c' })).toContain('retry "a\\"b\\$c"');
    expect(mrkdwnEscape('a<b>&c')).toBe('a&lt;b&gt;&amp;c');
  });

  it('an unknown ALERT_WEBHOOK_FORMAT fails the configuration by its name', () => {
    expect(() => loadConfig({ GOOGLE_CLOUD_PROJECT: 'p', ALERT_WEBHOOK_FORMAT: 'xml' })).toThrow(
      /ALERT_WEBHOOK_FORMAT/,
    );
    expect(loadConfig({ GOOGLE_CLOUD_PROJECT: 'p', ALERT_WEBHOOK_FORMAT: 'slack' }).alertWebhookFormat).toBe(
      'slack',
    );
    expect(loadConfig({ GOOGLE_CLOUD_PROJECT: 'p' }).alertWebhookFormat).toBe('json');
  });
});
