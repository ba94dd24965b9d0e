import { describe, expect, it } from 'vitest';
import { createDlqRecorder } from '../../shared/recovery/dlq-recorder.ts';
import { runAutoRetryTick } from '../../shared/recovery/auto-retry.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { TOPICS } from '../../shared/messages/messages.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { pubsubEvent } from '../support/factories.ts';
import { rid, world } from '../support/orchestrator-world.ts';

describe('a scheduled relative run request ("yesterday")', () => {
  const scheduled = {
    relative: -1,
    timeZone: 'America/New_York',
    triggerSource: 'scheduled',
    requestedBy: 'cloud-scheduler',
  };

  it('means the day before its publish, also when it arrives or is redelivered after midnight', async () => {
    const w = world();
    const event = pubsubEvent(scheduled, { messageId: 'sched-1' });
    // Published at 10:00 New York on March 1st (yesterday: February 28th); delivered the next morning.
    event.data!.message!.publishTime = '2026-03-01T15:00:00.000Z';
    w.clock.advance(86_400_000 + 3_600_000);
    await w.orchestrator.onRunRequest(event);
    const runs = w.store.docs(COLLECTIONS.runs) as { partition: string }[];
    expect(runs.map((r) => r.partition)).toEqual(['2026-02-28']);
  });

  it('dead-lettered overnight, is retried next morning for its own date; its entry closes when that run starts', async () => {
    const w = world();
    const recorder = createDlqRecorder({
      definition: testDefinition,
      store: w.store,
      clock: w.clock,
      logger: w.logger,
    });
    const letter = pubsubEvent(scheduled, { messageId: 'dl-1' });
    letter.data!.message!.attributes = {
      CloudPubSubDeadLetterSourceDeliveryCount: '10',
      CloudPubSubDeadLetterSourceSubscription: 'projects/p/subscriptions/run-requests-sub',
      CloudPubSubDeadLetterSourceTopicPublishTime: '2026-03-01T15:00:00.000+00:00',
    };
    await recorder(letter);
    const [entry] = w.store.docs(COLLECTIONS.queue) as {
      requestId: string;
      partition: string;
      retryTarget: { message: unknown };
    }[];
    expect(entry).toMatchObject({
      partition: '2026-02-28',
      retryTarget: { message: { partition: '2026-02-28', triggerSource: 'scheduled' } },
    });
    expect(entry!.retryTarget.message).not.toHaveProperty('relative');
    // The next morning the auto-retry re-publishes it; the run is for the date it was for.
    w.clock.advance(86_400_000);
    await runAutoRetryTick({
      definition: testDefinition,
      store: w.store,
      publisher: w.publisher,
      clock: w.clock,
      logger: w.logger,
    });
    const retried = w.publisher.on(TOPICS.runRequests);
    expect(retried).toEqual([expect.objectContaining({ partition: '2026-02-28' })]);
    await w.orchestrator.onRunRequest(pubsubEvent(retried[0], { messageId: 'retry-1' }));
    expect((w.store.docs(COLLECTIONS.runs) as { partition: string }[]).map((r) => r.partition)).toEqual([
      '2026-02-28',
    ]);
    expect(await w.store.get(COLLECTIONS.queue, entry!.requestId)).toMatchObject({ status: 'succeeded' });
  });
});

describe('scheduled run requests', () => {
  it('resolve relative in the time zone, for a fixed Cloud Scheduler body', async () => {
    const w = world();
    // 2026-03-01T12:00Z is still 2026-03-01 in New York: yesterday is 2026-02-28.
    await w.orchestrator.onRunRequest(
      pubsubEvent(
        { relative: -1, timeZone: 'America/New_York', triggerSource: 'scheduled' },
        { messageId: 's1' },
      ),
    );
    expect(await w.store.get(COLLECTIONS.runs, rid('2026-02-28', 's1'))).toMatchObject({
      partition: '2026-02-28',
      triggerSource: 'scheduled',
    });
    await w.orchestrator.onRunRequest(
      pubsubEvent(
        { relative: -1, timeZone: 'Mars/Olympus', triggerSource: 'scheduled' },
        { messageId: 's2' },
      ),
    );
    expect((await w.store.get(COLLECTIONS.queue, 'msg-s2'))?.lastError).toMatch(
      /^unknown time zone "Mars\/Olympus" \(an IANA name/,
    );
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2026-02-28', relative: -1, triggerSource: 'scheduled' }, { messageId: 's3' }),
    );
    expect((await w.store.get(COLLECTIONS.queue, 'msg-s3'))?.lastError).toMatch(
      /give exactly one of partition and relative/,
    );
  });
});
