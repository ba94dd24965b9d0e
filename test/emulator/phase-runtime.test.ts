import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { phaseTopic, ProcessorCompletedSchema, TOPICS } from '../../shared/messages/messages.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { makeProcessorRequest } from '../support/factories.ts';
import { eventually, fileStacks, type Harness } from '../support/emulator-harness.ts';

const stacks = fileStacks({ label: 'phase-runtime', definition: testDefinition });

const executionsOf = async (h: Harness, requestId: string) =>
  (await h.store.query('executions', { filters: [{ field: 'requestId', op: '==', value: requestId }] }))
    .length;

describe('phase runtime through real push subscriptions into functions-framework', () => {
  it('processes a good message once, lands its writes and publishes the completion', async () => {
    const harness = stacks.shared;
    const completions = await harness.observe(TOPICS.processorCompletions);
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets', partition: '2024-04-21' });
    await harness.publishJson(phaseTopic('alpha'), request);

    const [message] = await completions.waitFor(1);
    const completion = ProcessorCompletedSchema.parse(JSON.parse(message!.data.toString('utf8')));
    expect(completion).toMatchObject({
      requestId: request.requestId,
      records: { widgets: 3, executions: 1 },
    });
    const widgets = await harness.store.query('widgets', {
      filters: [{ field: 'partition', op: '==', value: '2024-04-21' }],
    });
    expect(widgets.map((w) => w.id).sort()).toEqual(['2024-04-21_0', '2024-04-21_1', '2024-04-21_2']);
    expect(widgets.every((w) => w.data.runId === request.runId)).toBe(true);
    expect(await harness.store.get(COLLECTIONS.processorRuns, request.requestId)).toMatchObject({
      status: 'completed',
      attempts: 1,
    });
    // Acked: no second attempt shows up after a redelivery interval.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await executionsOf(harness, request.requestId)).toBe(1);
    expect(completions.messages).toHaveLength(1);
  });

  it(
    'answers 5xx on a failed write, is redelivered, and after maxDeliveryAttempts the original message ' +
      'goes to the DLQ and into the queue',
    async () => {
      const h = await stacks.withFaults('dlq', () => ({
        PHASEGATE_FAULTS: JSON.stringify({ writeFailures: [{ processor: 'gadgets', times: 'always' }] }),
      }));
      const request = makeProcessorRequest({ phase: 'alpha', processor: 'gadgets' });
      await h.publishJson(phaseTopic('alpha'), request);

      // The dead-letter topic is read by the dlq-recorder: the original message becomes a queue entry.
      let entry: Record<string, unknown> | undefined;
      await eventually(
        async () => (entry = await h.store.get(COLLECTIONS.queue, request.requestId)) !== undefined,
        {
          timeoutMs: 60_000,
          what: 'the dead-lettered request in failed_processor_queue',
        },
      );
      const original = entry!.originalMessage as { data: string; attributes: Record<string, string> };
      expect(JSON.parse(Buffer.from(original.data, 'base64').toString('utf8'))).toEqual(request);
      expect(original.attributes.CloudPubSubDeadLetterSourceDeliveryCount).toBe('5');
      expect(entry).toMatchObject({
        status: 'pending',
        deliveryCount: 5,
        errorType: 'transient',
        errorReason: 'grpc_UNAVAILABLE',
        processor: 'gadgets',
        retryCount: 0,
      });
      expect(String(entry!.lastError)).toMatch(/injected write failure/);
      const run = await h.store.get(COLLECTIONS.processorRuns, request.requestId);
      expect(run).toMatchObject({ status: 'failed_transient', attempts: 5 });
      const failures = await h.store.query(COLLECTIONS.events, {
        filters: [
          { field: 'requestId', op: '==', value: request.requestId },
          { field: 'type', op: '==', value: 'processor_failed' },
        ],
      });
      expect(failures).toHaveLength(5);
      expect(
        failures.every(
          (f) =>
            f.data.errorType === 'transient' && String(f.data.message).includes('injected write failure'),
        ),
      ).toBe(true);
    },
  );

  it('records an invalid payload as failed_permanent and does not redeliver it', async () => {
    const harness = stacks.shared;
    const messageId = await harness.publishRaw(
      phaseTopic('alpha'),
      Buffer.from('{"partition": "2024-04-21", "oops"'),
    );
    const h = harness;
    await eventually(async () => (await h.store.get(COLLECTIONS.queue, `msg-${messageId}`)) !== undefined, {
      what: 'the queue entry of the poison message',
    });
    // Three retry-policy intervals later it is still a single occurrence: acked, not redelivered.
    await new Promise((r) => setTimeout(r, 5000));
    const entry = await harness.store.get(COLLECTIONS.queue, `msg-${messageId}`);
    expect(entry).toMatchObject({
      status: 'failed_permanent',
      errorType: 'permanent',
      errorReason: 'validation',
      occurrences: 1,
      needsManualFix: true,
    });
    expect(String(entry?.lastError)).toMatch(/data is not JSON/);
    expect(entry?.originalMessage).toMatchObject({
      messageId,
      data: Buffer.from('{"partition": "2024-04-21", "oops"').toString('base64'),
    });
  });

  it('claims a first attempt create-only on the real Firestore: of two claims at once one lands, with what goes with it', async () => {
    const { store } = stacks.shared;
    const id = `claim-${randomUUID()}`;
    const claim = (n: number) =>
      store.createWith({ collection: COLLECTIONS.processorRuns, id, data: { n } }, [
        { collection: COLLECTIONS.events, id: `${id}-${n}`, data: { n } },
      ]);
    const claimed = await Promise.all([claim(1), claim(2)]);
    expect([...claimed].sort()).toEqual([false, true]);
    const winner = claimed[0] ? 1 : 2;
    expect(await store.get(COLLECTIONS.processorRuns, id)).toEqual({ n: winner });
    expect(await store.getMany(COLLECTIONS.events, [`${id}-1`, `${id}-2`])).toEqual(
      winner === 1 ? [{ n: 1 }, undefined] : [undefined, { n: 2 }],
    );
  });

  it('acks a duplicate delivery of a completed request without redoing the work', async () => {
    const harness = stacks.shared;
    const completions = await harness.observe(TOPICS.processorCompletions);
    const request = makeProcessorRequest({ phase: 'alpha', processor: 'widgets', partition: '2024-04-22' });
    await harness.publishJson(phaseTopic('alpha'), request);
    await completions.waitFor(1);
    await harness.publishJson(phaseTopic('alpha'), request);
    await completions.waitFor(2);
    expect(await executionsOf(harness, request.requestId)).toBe(1);
    expect(await harness.store.get(COLLECTIONS.processorRuns, request.requestId)).toMatchObject({
      status: 'completed',
      attempts: 1,
    });
    expect(JSON.parse(completions.messages[1]!.data.toString())).toEqual(
      JSON.parse(completions.messages[0]!.data.toString()),
    );
  });
});
