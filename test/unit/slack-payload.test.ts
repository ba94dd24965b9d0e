import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.ts';
import { createNotifier, type Alert } from '../../shared/recovery/notifier.ts';
import { fixCommands, mrkdwnEscape, slackPayload } from '../../shared/recovery/slack-payload.ts';
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
    // Against the project that sent it; the entry, then every entry of the same outage (a dry run first).
    expect(all).toContain(
      "phasegate --project 'demo-project' queue retry '2024-05-01_run-abc_scrape_games' --note '&lt;what you fixed&gt;'\n" +
        "phasegate --project 'demo-project' queue retry --status failed_permanent --phase 'scrape' --processor 'games' " +
        "--note '&lt;what you fixed&gt;' --dry-run",
    );
    expect(body.text).not.toContain('<!channel>');
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

  it('names one fixing command for each kind of alert, quoted for a shell', () => {
    const note = "--note '<what you fixed>'";
    expect(
      fixCommands({ ...alert, requestId: null, runId: null, processor: null, phase: 'dependencies' }),
    ).toEqual([`phasegate queue retry --from 2024-05-01 --to 2024-05-01 ${note} --dry-run`]);
    expect(fixCommands({ ...alert, kind: 'gate_failed', requestId: null, processor: null }, 'prod')).toEqual([
      `phasegate --project 'prod' queue retry --phase 'scrape' --from 2024-05-01 --to 2024-05-01 ${note} --dry-run`,
    ]);
    expect(fixCommands({ ...alert, kind: 'stalled' })).toEqual([
      "phasegate trigger --partition 2024-05-01 --start-phase 'scrape' --force",
    ]);
    expect(
      fixCommands({ ...alert, kind: 'control_dlq', runId: null, partition: null, phase: null }, 'prod'),
    ).toEqual(["gcloud pubsub subscriptions pull control-dlq-sub --limit=10 --project='prod'"]);
    // Nothing in a quoted word is expanded by a shell: $, backticks, !, and a quote closes and reopens.
    expect(fixCommands({ ...alert, requestId: "a'b$c`d!e" })[0]).toContain(`retry 'a'\\''b$c\`d!e'`);
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
