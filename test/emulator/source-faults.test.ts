import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { phaseTopic } from '../../shared/messages/messages.ts';
import {
  processorRequest,
  settled,
  startReferenceHarness,
  type ReferenceHarness,
} from '../support/reference-harness.ts';
import { eventually } from '../support/emulator-harness.ts';
import { actionNeeded } from '../../shared/recovery/queue-policy.ts';
import type { QueueStatus } from '../../shared/recovery/queue-status.ts';

let h: ReferenceHarness;
beforeAll(async () => {
  // A 1 s client timeout so "slower than the timeout" is quick to provoke.
  h = await startReferenceHarness('source-faults', { httpTimeoutMs: 1000 });
});
afterAll(async () => {
  await h?.stop();
});

/** Scrapes one date's box scores and returns how the request settled and what was recorded. */
async function scrapeBoxscores(date: string, runId: string) {
  const request = processorRequest(runId, 'scrape', 'scrape-boxscores', date);
  await h.publishJson(phaseTopic('scrape'), request);
  const status = await settled(h, request.requestId);
  const run = await h.store.get(COLLECTIONS.processorRuns, request.requestId);
  const failures = (
    await h.store.query(COLLECTIONS.events, {
      filters: [
        { field: 'requestId', op: '==', value: request.requestId },
        { field: 'type', op: '==', value: 'processor_failed' },
      ],
    })
  ).map((e) => e.data);
  const entry = await h.store.get(COLLECTIONS.queue, request.requestId);
  return { status, attempts: run?.attempts, failures, entry };
}

describe('source API faults, through the real runtime', () => {
  it('waits out a 429 with Retry-After in-process: one delivery, completed', async () => {
    h.source.faults.add({
      endpoint: 'boxscores',
      kind: 'rate_limit',
      retryAfterSeconds: 1,
      times: 2,
      dates: ['2016-04-16'],
    });
    const result = await scrapeBoxscores('2016-04-16', 'f-429');
    expect(result).toMatchObject({ status: 'completed', attempts: 1, failures: [] });
  });

  it('retries a burst of 5xx in-process, then leaves it to redelivery, which succeeds', async () => {
    // Three 503s exhaust the in-process budget (1 try + 2 retries); the redelivery gets through.
    h.source.faults.add({ endpoint: 'boxscores', kind: 'server_error', times: 3, dates: ['2016-04-17'] });
    const result = await scrapeBoxscores('2016-04-17', 'f-5xx');
    expect(result).toMatchObject({ status: 'completed', attempts: 2 });
    expect(result.failures).toEqual([
      expect.objectContaining({ errorType: 'transient', errorReason: 'http_503', attempt: 1 }),
    ]);
  });

  it('treats responses slower than the client timeout as transient: retried, then redelivered', async () => {
    h.source.faults.add({
      endpoint: 'boxscores',
      kind: 'slow',
      delayMs: 3000,
      times: 3,
      dates: ['2016-04-18'],
    });
    const result = await scrapeBoxscores('2016-04-18', 'f-slow');
    expect(result).toMatchObject({ status: 'completed', attempts: 2 });
    expect(result.failures).toEqual([
      expect.objectContaining({ errorType: 'transient', errorReason: 'timeout' }),
    ]);
  });

  it('classifies "not published yet" as not ready: a waiting queue entry, no alert', async () => {
    h.source.faults.add({ endpoint: 'boxscores', kind: 'not_published', dates: ['2016-04-19'] });
    const result = await scrapeBoxscores('2016-04-19', 'f-notready');
    expect(result.status).toBe('waiting');
    expect(result.entry).toMatchObject({ status: 'waiting', errorType: 'not_ready', needsManualFix: false });
    expect(String(result.entry?.lastError)).toMatch(/source has not published 2016-04-19 yet/);
  });

  it('short data (missing_rows): the raw gate finds the missing team rows, and the run is not SUCCESS', async () => {
    h.source.faults.add({ endpoint: 'boxscores', kind: 'missing_rows', dates: ['2016-04-21'] });
    const messageId = await h.publishJson('run-requests', {
      partition: '2016-04-21',
      triggerSource: 'manual',
    });
    let run: Record<string, unknown> | undefined;
    await eventually(
      async () => {
        run = (
          await h.store.query(COLLECTIONS.runs, {
            filters: [{ field: 'requestMessageId', op: '==', value: messageId }],
          })
        )[0]?.data;
        return run?.status === 'PARTIAL';
      },
      { timeoutMs: 90_000, what: () => `the run of 2016-04-21 to be PARTIAL (it is ${String(run?.status)})` },
    );
    // Two team rows gone: the games they belonged to are incomplete, and so are their team rows.
    const [, expected, found] =
      /^gate of phase raw failed: .*team_game_stats \(gameDate\) expected (\d+), found (\d+)/.exec(
        String(run?.lastError),
      ) ?? [];
    expect(Number(found), String(run?.lastError)).toBeLessThan(Number(expected));
    const entries = (
      await h.store.query(COLLECTIONS.queue, { filters: [{ field: 'runId', op: '==', value: run?.runId }] })
    ).map((e) => e.data);
    expect(entries.map((e) => [e.phase, e.status, e.errorReason])).toContainEqual([
      'raw',
      'pending',
      'gate_failed',
    ]);
  });

  it('fails a malformed payload permanently with a clear reason, without retrying it', async () => {
    h.source.faults.add({ endpoint: 'boxscores', kind: 'malformed', dates: ['2016-04-20'] });
    const result = await scrapeBoxscores('2016-04-20', 'f-malformed');
    expect(result).toMatchObject({ status: 'failed_permanent', attempts: 1 });
    expect(result.entry).toMatchObject({
      status: 'failed_permanent',
      errorType: 'permanent',
      errorReason: 'validation',
      needsManualFix: true,
    });
    expect(String(result.entry?.lastError)).toMatch(
      /malformed payload from http:\/\/127\.0\.0\.1:\d+\/v1\/boxscores\?date=2016-04-20: not valid JSON/,
    );
  });
});

describe('dates that are not what they seem, through the real pipeline', () => {
  const runOf = async (messageId: string) =>
    (
      await h.store.query(COLLECTIONS.runs, {
        filters: [{ field: 'requestMessageId', op: '==', value: messageId }],
      })
    )[0]?.data;
  const entriesOf = async (runId: unknown) =>
    (runId === undefined
      ? []
      : await h.store.query(COLLECTIONS.queue, { filters: [{ field: 'runId', op: '==', value: runId }] })
    ).map((e) => e.data);

  it('a date whose games are not final (in the future) waits for the source instead of succeeding with no data', async () => {
    const messageId = await h.publishJson('run-requests', {
      partition: '2031-01-01',
      triggerSource: 'manual',
    });
    let entries: Record<string, unknown>[] = [];
    await eventually(
      async () => {
        entries = await entriesOf((await runOf(messageId))?.runId);
        return entries.length === 2 && entries.every((e) => e.status === 'waiting');
      },
      {
        timeoutMs: 60_000,
        what: () =>
          `both scrapers of 2031-01-01 waiting (${JSON.stringify(entries.map((e) => [e.processor, e.status]))})`,
      },
    );
    expect(entries.map((e) => String(e.lastError))).toEqual([
      expect.stringMatching(/has not been published yet: its games are not final/),
      expect.stringMatching(/has not been published yet: its games are not final/),
    ]);
    expect(entries.map((e) => actionNeeded(e.status as QueueStatus, e.errorReason as string))).toEqual([
      'Waiting for source',
      'Waiting for source',
    ]);
    expect((await runOf(messageId))?.status).toBe('RUNNING');
  });

  it('a date with no games succeeds and says so', async () => {
    const messageId = await h.publishJson('run-requests', {
      partition: '2023-08-01',
      triggerSource: 'manual',
    });
    await eventually(async () => (await runOf(messageId))?.status === 'SUCCESS', {
      timeoutMs: 90_000,
      what: () => 'the run of 2023-08-01 to be SUCCESS',
    });
    expect((await runOf(messageId))?.notes).toContain(
      'phase raw: nothing expected for 2023-08-01 (no data for the partition)',
    );
  });
});
