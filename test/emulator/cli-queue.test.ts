import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { phaseTopic } from '../../shared/messages/messages.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { makeProcessorRequest } from '../support/factories.ts';
import { startHarness, type Harness } from '../support/emulator-harness.ts';
import { runCli } from '../support/cli.ts';

let h: Harness;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  h = await startHarness({ label: 'cli-queue', definition: testDefinition });
  env = {
    ...inject('emulatorEnv'),
    GOOGLE_CLOUD_PROJECT: h.stack.projectId,
    METADATA_SERVER_DETECTION: 'none',
  };
});
afterAll(async () => {
  await h?.stop();
});

async function seed(partition: string, status: string, processor = 'widgets') {
  const request = makeProcessorRequest({ phase: 'alpha', processor, partition, runId: `cli-${partition}` });
  await h.store.set(COLLECTIONS.queue, request.requestId, {
    requestId: request.requestId,
    status,
    errorType: 'permanent',
    errorReason: 'validation',
    lastError: `bad data on ${partition}`,
    needsManualFix: status === 'failed_permanent',
    runId: request.runId,
    partition,
    phase: 'alpha',
    processor,
    request,
    failureEventId: `${request.requestId}--a1--processor_failed`,
    firstFailedAt: `${partition}T10:00:00.000Z`,
    retryCount: 0,
    nextRetryAt: null,
    deadlineAt: null,
  });
  await h.store.set(COLLECTIONS.events, `${request.requestId}--a1--processor_failed`, {
    eventId: `${request.requestId}--a1--processor_failed`,
    type: 'processor_failed',
    requestId: request.requestId,
    at: `${partition}T10:00:00.000Z`,
    attempt: 1,
    errorType: 'permanent',
    message: `bad data on ${partition}`,
  });
  return request;
}

describe('phasegate queue (manual recovery on the command line)', () => {
  it('lists with filters, as a table and as JSON', async () => {
    await seed('2024-04-20', 'failed_permanent');
    await seed('2024-04-21', 'pending', 'gadgets');
    const table = await runCli(['queue', 'list', '--status', 'failed_permanent'], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('NEEDS MANUAL FIX');
    expect(table.stdout).toContain('cli-2024-04-20--alpha--widgets');
    expect(table.stdout).not.toContain('cli-2024-04-21');
    const json = await runCli(['queue', 'list', '--processor', 'gadgets', '--json'], env);
    expect((JSON.parse(json.stdout) as { requestId: string }[]).map((e) => e.requestId)).toEqual([
      'cli-2024-04-21--alpha--gadgets',
    ]);
  });

  it('shows an entry with its chain of attempts, retries it now, and resolves or discards with a note', async () => {
    const request = await seed('2024-04-22', 'failed_permanent');
    const observed = await h.observe(phaseTopic('alpha'));
    const show = await runCli(['queue', 'show', request.requestId], env);
    expect(show.stdout).toContain('NEEDS MANUAL FIX');
    expect(show.stdout).toMatch(/processor_failed\s+1\s+permanent: bad data on 2024-04-22/);
    const retry = await runCli(['queue', 'retry', request.requestId, '--note', 'fixed upstream'], env);
    expect(retry.code, retry.stderr).toBe(0);
    await observed.waitFor(1);
    expect(JSON.parse(observed.messages[0]!.data.toString())).toMatchObject({
      requestId: request.requestId,
      triggerSource: 'retry',
    });
    const other = await seed('2024-04-23', 'failed_permanent');
    expect((await runCli(['queue', 'discard', other.requestId, '--note', 'test data'], env)).code).toBe(0);
    expect(await h.store.get(COLLECTIONS.queue, other.requestId)).toMatchObject({
      status: 'discarded',
      note: 'test data',
    });
    const again = await runCli(['queue', 'resolve', other.requestId, '--note', 'x'], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`entry "${other.requestId}" is discarded`);
  });

  it('requeues every failed entry of a date range', async () => {
    await seed('2024-05-01', 'failed_permanent');
    await seed('2024-05-02', 'failed_permanent');
    await seed('2024-06-01', 'failed_permanent');
    const result = await runCli(
      [
        'queue',
        'requeue',
        '--from',
        '2024-05-01',
        '--to',
        '2024-05-31',
        '--note',
        'provider outage over',
        '--json',
      ],
      env,
    );
    expect((JSON.parse(result.stdout) as { requeued: string[] }).requeued.sort()).toEqual([
      'cli-2024-05-01--alpha--widgets',
      'cli-2024-05-02--alpha--widgets',
    ]);
    expect(await h.store.get(COLLECTIONS.queue, 'cli-2024-06-01--alpha--widgets')).toMatchObject({
      status: 'failed_permanent',
    });
  });

  it('pages a list with a cursor, and says how many a requeue holds before acting (or only that, on a dry run)', async () => {
    for (const day of ['01', '02', '03']) await seed(`2024-07-${day}`, 'failed_permanent', 'sprockets');
    const id = (day: string) => `cli-2024-07-${day}--alpha--sprockets`;
    const first = await runCli(['queue', 'list', '--processor', 'sprockets', '--limit', '2'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(id('02'));
    expect(first.stdout).not.toContain(id('03'));
    expect(first.stdout).toContain(`showing 2 entries of 3; the next page: --after ${id('02')}`);
    const next = await runCli(['queue', 'list', '--processor', 'sprockets', '--after', id('02')], env);
    expect(next.stdout).toContain(id('03'));
    expect(next.stdout).not.toContain(id('02'));
    expect(next.stdout).toContain('showing 1 entries of 3; the last page');
    const range = ['--from', '2024-07-01', '--to', '2024-07-02', '--note', 'provider fixed'];
    const dry = await runCli(['queue', 'requeue', ...range, '--dry-run'], env);
    expect(dry.stdout).toContain(
      `dry run: 2 failed_permanent entries between 2024-07-01 and 2024-07-02 would be requeued; the first 2: ${id('01')}, ${id('02')}`,
    );
    expect(await h.store.get(COLLECTIONS.queue, id('01'))).toMatchObject({ status: 'failed_permanent' });
    const done = await runCli(['queue', 'requeue', ...range], env);
    expect(done.stdout.split('\n').slice(0, 2)).toEqual([
      '2 failed_permanent entries between 2024-07-01 and 2024-07-02: requeueing',
      `requeued 2: ${id('01')}, ${id('02')}`,
    ]);
    expect(await h.store.get(COLLECTIONS.queue, id('03'))).toMatchObject({ status: 'failed_permanent' });
  });

  it('retries, resolves or discards by filter: a dry run says the count and a sample; the action each match', async () => {
    for (const day of ['01', '02', '03']) await seed(`2024-08-${day}`, 'failed_permanent', 'cogs');
    await seed('2024-08-02', 'pending', 'cogs');
    const id = (day: string) => `cli-2024-08-${day}--alpha--cogs`;
    const filters = [
      '--processor',
      'cogs',
      '--error-type',
      'permanent',
      '--from',
      '2024-08-01',
      '--to',
      '2024-08-02',
    ];
    const dry = await runCli(['queue', 'retry', ...filters, '--note', 'fixed', '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    // Two days of cogs: 01 failed_permanent, 02 pending (its second seed has the same id, and replaced the first).
    expect(dry.stdout).toContain(
      'dry run: 2 pending|waiting|failed_permanent entries match --processor cogs --error-type permanent ' +
        '--from 2024-08-01 --to 2024-08-02; queue retry would act on each; the first 2:',
    );
    expect(dry.stdout).toContain(id('01'));
    expect(await h.store.get(COLLECTIONS.queue, id('01'))).toMatchObject({ status: 'failed_permanent' });
    const observed = await h.observe(phaseTopic('alpha'));
    const done = await runCli(['queue', 'retry', ...filters, '--note', 'fixed', '--json'], env);
    expect(done.code, done.stderr).toBe(0);
    expect((JSON.parse(done.stdout) as { done: string[] }).done.sort()).toEqual([id('01'), id('02')]);
    await observed.waitFor(2);
    expect(await h.store.get(COLLECTIONS.queue, id('03'))).toMatchObject({ status: 'failed_permanent' });
    // (The phase runs the retried requests again: 01 and 02 are the functions' now, whatever they decide.)
    const discard = await runCli(
      ['queue', 'discard', '--processor', 'cogs', '--from', '2024-08-03', '--note', 'test data'],
      env,
    );
    expect(discard.stdout).toContain(`discarded 1: ${id('03')}`);
    expect(await h.store.get(COLLECTIONS.queue, id('03'))).toMatchObject({
      status: 'discarded',
      note: 'test data',
    });
  });

  it('refuses a bulk action without a filter, with both an entry and filters, or on a closed status', async () => {
    const empty = await runCli(['queue', 'retry', '--processor', 'no-such', '--note', 'x', '--dry-run'], env);
    expect(empty.stdout.trim()).toBe(
      'dry run: 0 pending|waiting|failed_permanent entries match --processor no-such; nothing would change',
    );
    const none = await runCli(['queue', 'resolve', '--note', 'x'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('queue resolve needs an entry id or at least one filter');
    const both = await runCli(['queue', 'retry', 'some-entry', '--phase', 'alpha', '--note', 'x'], env);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give an entry id (some-entry) or filters (--phase alpha), not both');
    const closed = await runCli(['queue', 'retry', '--status', 'succeeded', '--note', 'x'], env);
    expect(closed.code).toBe(2);
    expect(closed.stderr).toContain('succeeded entries are closed');
    const badType = await runCli(['queue', 'discard', '--error-type', 'oops', '--note', 'x'], env);
    expect(badType.stderr).toContain(
      '"oops" is not an error type: one of transient, not_ready, permanent, bug',
    );
  });

  it('answers bad arguments with a clear error and exit code 2', async () => {
    const badDate = await runCli(
      ['queue', 'requeue', '--from', '2024-13-01', '--to', '2024-05-31', '--note', 'x'],
      env,
    );
    expect(badDate.code).not.toBe(0);
    expect(badDate.stderr).toContain(
      '"2024-13-01" is not a partition (a day, YYYY-MM-DD): not a calendar date',
    );
    const badStatus = await runCli(['queue', 'list', '--status', 'broken'], env);
    expect(badStatus.stderr).toContain('"broken" is not a queue status');
    const noNote = await runCli(['queue', 'discard', 'x'], env);
    expect(noNote.stderr).toContain("required option '--note <text>' not specified");
    const missing = await runCli(['queue', 'show', 'no-such-entry'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no queue entry "no-such-entry"');
  });
});
