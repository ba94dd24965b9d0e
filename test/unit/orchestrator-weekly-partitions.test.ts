import { describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { loadDefinition } from '../../shared/definition/load.ts';
import { testDefinitionInput } from '../fixtures/test-pipeline/definition.ts';
import { makeProcessorRequest, pubsubEvent } from '../support/factories.ts';
import { rid, world } from '../support/orchestrator-world.ts';

describe('a pipeline partitioned by ISO week', () => {
  const weekly = loadDefinition({ ...testDefinitionInput, partition: 'weekly' });

  it('runs a week end to end, resolves "the week before" from the publish time, and refuses a day', async () => {
    const w = world({ definition: weekly });
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2026-W09', triggerSource: 'manual' }, { messageId: 'w1' }),
    );
    await w.pump();
    expect(await w.store.get(COLLECTIONS.runs, rid('2026-W09', 'w1'))).toMatchObject({
      partition: '2026-W09',
      status: 'SUCCESS',
    });
    expect(w.store.docs('widgets').map((d) => d.partition)).toEqual(['2026-W09', '2026-W09', '2026-W09']);
    expect(await w.store.get(COLLECTIONS.runLocks, '2026-W09')).toMatchObject({
      runId: rid('2026-W09', 'w1'),
    });

    // Sunday 2026-03-01 is in ISO week 2026-W09: the week before is 2026-W08.
    const scheduled = pubsubEvent(
      { relative: -1, timeZone: 'UTC', triggerSource: 'scheduled' },
      { messageId: 'w2' },
    );
    scheduled.data!.message!.publishTime = '2026-03-01T23:00:00.000Z';
    await w.orchestrator.onRunRequest(scheduled);
    expect(
      (w.store.docs(COLLECTIONS.runs) as { partition: string }[]).map((r) => r.partition).sort(),
    ).toEqual(['2026-W08', '2026-W09']);

    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2026-03-01', triggerSource: 'manual' }, { messageId: 'w3' }),
    );
    const refused = await w.store.get(COLLECTIONS.queue, 'msg-w3');
    expect(refused).toMatchObject({ status: 'failed_permanent', errorReason: 'validation' });
    expect(String(refused?.lastError)).toMatch(
      /partition: expected an ISO week YYYY-Www \(2026-W05\) \(this pipeline's partitions: an ISO week, YYYY-Www\)/,
    );
  });

  it('a phase refuses a request for a key its scheme does not have, as permanent, naming the scheme', async () => {
    const w = world({ definition: weekly });
    await w.phases.alpha!(
      pubsubEvent(makeProcessorRequest({ phase: 'alpha', processor: 'widgets', partition: '2025-W53' }), {
        messageId: 'p1',
      }),
    );
    const refused = await w.store.get(COLLECTIONS.queue, 'msg-p1');
    expect(refused).toMatchObject({ status: 'failed_permanent' });
    expect(String(refused?.lastError)).toMatch(/partition: 2025 has no ISO week 53/);
    expect(w.store.docs('widgets')).toEqual([]);
  });
});
