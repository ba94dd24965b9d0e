import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { phaseTopic, TOPICS } from '../../shared/messages/messages.ts';
import { runAutoRetryTick } from '../../shared/recovery/auto-retry.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { createPubSubPublisher } from '../../shared/adapters/pubsub-publisher.ts';
import { findRunByMessage } from '../../scripts/lib/watch-run.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { makeProcessorRequest } from '../support/factories.ts';
import { eventually, fileStacks, type Harness } from '../support/emulator-harness.ts';

const stacks = fileStacks({ label: 'recovery', definition: testDefinition });

const tick = (h: Harness) => h.publishJson(TOPICS.autoRetryTicks, { source: 'test' });

async function startRun(h: Harness, partition: string): Promise<string> {
  const messageId = await h.publishJson(TOPICS.runRequests, { partition, triggerSource: 'manual' });
  const run = await findRunByMessage(h.store, messageId);
  if (!run) throw new Error('no run created');
  return run.runId;
}

async function statusOf(h: Harness, runId: string): Promise<string> {
  return String((await h.store.get(COLLECTIONS.runs, runId))?.status);
}

/** Ticks every second (the scheduler's job, shortened) until `check` holds. */
async function tickUntil(
  h: Harness,
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  await eventually(
    async () => {
      if (await check()) return true;
      await tick(h);
      return false;
    },
    { timeoutMs, what },
  );
}

/** A date's domain documents without the fields that name the run that wrote them. */
async function domain(h: Harness, partition: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const collection of ['widgets', 'gadgets', 'summaries']) {
    for (const d of await h.store.query(collection, {
      filters: [{ field: 'partition', op: '==', value: partition }],
    })) {
      const { runId: _r, updatedAt: _u, ...rest } = d.data;
      out[`${collection}/${d.id}`] = rest;
    }
  }
  return out;
}

describe('recovery on the emulators', () => {
  it(
    'writes failing for the first deliveries: redelivered, dead-lettered, queued, auto-retried, ' +
      'SUCCESS, same data as a fault-free run',
    async () => {
      // All five deliveries of gadgets fail; the sixth (the auto-retry) succeeds.
      const h = await stacks.withFaults('k-failures', (name): Record<string, string> =>
        name === 'phase-alpha'
          ? { PHASEGATE_FAULTS: JSON.stringify({ writeFailures: [{ processor: 'gadgets', times: 5 }] }) }
          : {},
      );
      const runId = await startRun(h, '2024-04-21');
      const requestId = `${runId}--alpha--gadgets`;
      await eventually(async () => (await h.store.get(COLLECTIONS.queue, requestId))?.status === 'pending', {
        timeoutMs: 60_000,
        what: 'the dead-lettered request to be queued',
      });
      expect(await h.store.get(COLLECTIONS.queue, requestId)).toMatchObject({
        deliveryCount: 5,
        errorType: 'transient',
      });
      expect(await statusOf(h, runId)).toBe('RUNNING');
      await tickUntil(
        h,
        async () => (await statusOf(h, runId)) === 'SUCCESS',
        'the run to succeed after the auto-retry',
      );
      expect(await h.store.get(COLLECTIONS.queue, requestId)).toMatchObject({
        status: 'succeeded',
        retryCount: 1,
      });
      expect(await h.store.get(COLLECTIONS.processorRuns, requestId)).toMatchObject({
        status: 'completed',
        attempts: 6,
      });
      const chain = (
        await h.store.query(COLLECTIONS.events, {
          filters: [{ field: 'requestId', op: '==', value: requestId }],
        })
      ).map((e) => e.data.type);
      expect(chain.filter((t) => t === 'processor_failed')).toHaveLength(5);
      expect(chain).toEqual(
        expect.arrayContaining(['dead_lettered', 'retry_started', 'queue_succeeded', 'processor_completed']),
      );

      const clean = stacks.shared;
      const cleanRun = await startRun(clean, '2024-04-21');
      await eventually(async () => (await statusOf(clean, cleanRun)) === 'SUCCESS', {
        what: 'the fault-free run',
      });
      const faultFree = await domain(clean, '2024-04-21');
      expect(Object.keys(faultFree).length).toBeGreaterThan(0);
      expect(await domain(h, '2024-04-21')).toEqual(faultFree);
    },
  );

  it('a source that has not published: the entry waits, the date is published, the next tick succeeds', async () => {
    const h = stacks.shared;
    const runId = await startRun(h, '1994-06-01');
    const requestId = `${runId}--alpha--widgets`;
    await eventually(async () => (await h.store.get(COLLECTIONS.queue, requestId))?.status === 'waiting', {
      what: 'the waiting entry',
    });
    expect(await h.store.get(COLLECTIONS.queue, requestId)).toMatchObject({
      errorType: 'not_ready',
      needsManualFix: false,
    });
    expect(await statusOf(h, runId)).toBe('RUNNING');
    expect(
      await h.store.query(COLLECTIONS.alerts, { filters: [{ field: 'runId', op: '==', value: runId }] }),
    ).toHaveLength(0);
    await h.store.set('source_published', '1994-06-01', { at: new Date().toISOString() });
    await tickUntil(
      h,
      async () => (await statusOf(h, runId)) === 'SUCCESS',
      'the run to succeed once the source published',
    );
    expect(await h.store.get(COLLECTIONS.queue, requestId)).toMatchObject({ status: 'succeeded' });
  });

  it('a poison payload is failed_permanent at once and never retried', async () => {
    const h = stacks.shared;
    const messageId = await h.publishRaw(phaseTopic('alpha'), Buffer.from('not json at all'));
    await eventually(async () => (await h.store.get(COLLECTIONS.queue, `msg-${messageId}`)) !== undefined, {
      what: 'the poison entry',
    });
    for (let i = 0; i < 3; i += 1) await tick(h);
    await new Promise((r) => setTimeout(r, 4000));
    expect(await h.store.get(COLLECTIONS.queue, `msg-${messageId}`)).toMatchObject({
      status: 'failed_permanent',
      needsManualFix: true,
      retryCount: 0,
      occurrences: 1,
    });
    const events = await h.store.query(COLLECTIONS.events, {
      filters: [{ field: 'requestId', op: '==', value: `msg-${messageId}` }],
    });
    expect(events.filter((e) => e.data.type === 'retry_started')).toHaveLength(0);
  });

  it('two concurrent auto-retry ticks (and a third instance): each due entry is retried exactly once', async () => {
    const h = stacks.shared;
    const observed = await h.observe(phaseTopic('alpha'));
    const requests = Array.from({ length: 20 }, (_, i) =>
      makeProcessorRequest({
        phase: 'alpha',
        processor: 'widgets',
        runId: `seed-${i}`,
        partition: `2023-05-${String(i + 1).padStart(2, '0')}`,
      }),
    );
    const past = new Date(Date.now() - 60_000).toISOString();
    await h.store.writeBatch(
      requests.map((r) => ({
        collection: COLLECTIONS.queue,
        id: r.requestId,
        data: {
          requestId: r.requestId,
          status: 'pending',
          errorType: 'transient',
          errorReason: 'dead_lettered',
          lastError: 'seeded',
          needsManualFix: false,
          runId: r.runId,
          partition: r.partition,
          phase: 'alpha',
          processor: 'widgets',
          request: r,
          failureEventId: null,
          firstFailedAt: past,
          retryCount: 0,
          nextRetryAt: past,
          deadlineAt: null,
        },
      })),
    );
    const inTest = runAutoRetryTick({
      definition: testDefinition,
      store: h.store,
      publisher: createPubSubPublisher(h.stack.pubsub),
      clock: systemClock,
      logger: createMemoryLogger(),
    });
    await Promise.all([tick(h), tick(h), inTest]);
    await observed.waitFor(20);
    await new Promise((r) => setTimeout(r, 3000));
    const ids = observed.messages
      .map((m) => (JSON.parse(m.data.toString()) as { requestId: string }).requestId)
      .sort();
    expect(ids).toEqual(requests.map((r) => r.requestId).sort());
    const entries = await h.store.getMany(
      COLLECTIONS.queue,
      requests.map((r) => r.requestId),
    );
    expect(entries.every((e) => e?.retryCount === 1)).toBe(true);
  });

  it("the recorder's own write fails: the dead letter is not acked and is recorded on the next delivery", async () => {
    const h = await stacks.withFaults('recorder-fault', (name): Record<string, string> => {
      if (name === 'phase-alpha')
        return {
          PHASEGATE_FAULTS: JSON.stringify({ writeFailures: [{ processor: 'gadgets', times: 'always' }] }),
        };
      if (name === 'dlq-recorder')
        return {
          PHASEGATE_FAULTS: JSON.stringify({ writeFailures: [{ processor: 'dlq-recorder', times: 1 }] }),
        };
      return {};
    });
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'gadgets' });
    await h.publishJson(phaseTopic('alpha'), request);
    await eventually(async () => (await h.store.get(COLLECTIONS.queue, request.requestId)) !== undefined, {
      timeoutMs: 60_000,
      what: 'the entry recorded on the redelivery',
    });
    expect(await h.store.get(COLLECTIONS.queue, request.requestId)).toMatchObject({
      status: 'pending',
      deliveryCount: 5,
      occurrences: 1,
    });
    const log = readFileSync(join(inject('logDir'), h.stack.projectId, 'dlq-recorder.log'), 'utf8');
    expect(log).toContain('injected write failure for processor dlq-recorder');
  });
});
