import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TOPICS } from '../../shared/messages/messages.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { findRunByMessage } from '../../scripts/lib/watch-run.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { runCliLine } from '../support/cli.ts';
import { eventually, startHarness, type Harness } from '../support/emulator-harness.ts';

interface SlackMessage {
  text: string;
  blocks: { type: string; text?: { text: string }; fields?: { text: string }[] }[];
}

/** A Slack incoming webhook, as far as a POST goes: it keeps every message it is sent. */
let hook: Server;
const received: SlackMessage[] = [];
let h: Harness;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(JSON.parse(body) as SlackMessage);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/services/T0/B0/x`;
  h = await startHarness({
    label: 'alert-hook',
    definition: testDefinition,
    functionEnv: () => ({ ALERT_WEBHOOK_URL: url, ALERT_WEBHOOK_FORMAT: 'slack' }),
  });
  env = {
    ...inject('emulatorEnv'),
    GOOGLE_CLOUD_PROJECT: h.stack.projectId,
    METADATA_SERVER_DETECTION: 'none',
  };
});
afterAll(async () => {
  await h?.stop();
  await new Promise((resolve) => hook?.close(resolve));
});

const header = (m: SlackMessage): string => m.blocks[0]?.text?.text ?? '';
const section = (m: SlackMessage, title: string): string =>
  m.blocks.find((b) => b.text?.text.startsWith(`*${title}*`))?.text?.text ?? '';
/** What Slack shows of mrkdwn: its three escapes undone. */
const shown = (text: string): string =>
  text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
describe('alerts in Slack format, from the deployed functions to a webhook', () => {
  it('a permanent failure reaches the channel naming the run, the partition and the error; its fix command fixes it', async () => {
    const partition = '1993-06-01';
    // The source refuses the day: widgets fails for good (test-pipeline/processors.ts).
    await h.store.set('refused_partitions', partition, { partition });
    const messageId = await h.publishJson(TOPICS.runRequests, { partition, triggerSource: 'manual' });
    const run = await findRunByMessage(h.store, messageId);
    expect(run).toBeDefined();
    await eventually(() => received.some((m) => header(m).includes('NEEDS MANUAL FIX')), {
      timeoutMs: 60_000,
      what: 'a NEEDS MANUAL FIX message on the webhook',
    });
    const alert = received.find((m) => header(m).includes('NEEDS MANUAL FIX'))!;
    const fields = alert.blocks.flatMap((b) => b.fields ?? []).map((f) => f.text);
    expect(fields).toEqual(
      expect.arrayContaining([`*Run*\n${run!.runId}`, `*Partition*\n${partition}`, '*Processor*\nwidgets']),
    );
    expect(section(alert, 'Error')).toContain(`the source refuses ${partition}`);
    // The operator fixes the cause, then runs the command the message names, note filled in.
    await h.store.transaction((tx) => Promise.resolve(tx.delete('refused_partitions', partition)));
    const [fix] = shown(section(alert, 'Fix').replace(/^\*Fix\*\n```|```$/g, '')).split('\n');
    expect(fix).toMatch(new RegExp(`^phasegate --project '${h.stack.projectId}' queue retry '`));
    const result = await runCliLine(fix!.replace('<what you fixed>', 'the source publishes it again'), env);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    await eventually(async () => (await h.store.get(COLLECTIONS.runs, run!.runId))?.status === 'SUCCESS', {
      timeoutMs: 60_000,
      what: 'the run to succeed after the retry the alert named',
    });
  });

  it("a reconcile tick sends yesterday's health summary through the same webhook", async () => {
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    await h.store.set(COLLECTIONS.runs, 'run-of-yesterday', {
      runId: 'run-of-yesterday',
      partition: '2024-01-01',
      status: 'SUCCESS',
      createdAt: `${yesterday}T12:00:00.000Z`,
    });
    await h.publishJson(TOPICS.reconcileTicks, {});
    await eventually(() => received.some((m) => header(m).endsWith(`daily health ${yesterday}`)), {
      timeoutMs: 60_000,
      what: `the daily health of ${yesterday} on the webhook`,
    });
    const summary = received.find((m) => header(m).endsWith(`daily health ${yesterday}`))!;
    expect(summary.blocks[1]!.fields!.map((f) => f.text)).toContain('*Runs*\nSUCCESS 1');
    // The delivery is recorded once the webhook has answered (after the POST we saw arrive).
    await eventually(
      async () =>
        (await h.store.get(COLLECTIONS.alerts, `daily_summary:${yesterday}`))?.webhookPending === false,
      { timeoutMs: 30_000, what: 'the summary recorded as delivered' },
    );
    expect(await h.store.get(COLLECTIONS.alerts, `daily_summary:${yesterday}`)).toMatchObject({
      occurrences: 1,
    });
  });
});
