import { describe, expect, it } from 'vitest';
import { actionNeeded } from '../../shared/recovery/queue-policy.ts';
import type { Alert } from '../../shared/recovery/notifier.ts';
import type { RunDoc } from '../../shared/orchestration/run-doc.ts';
import { pumpDependencies } from '../../shared/orchestration/dependencies/pump-dependencies.ts';
import { isOpen } from '../../shared/recovery/queue-policy.ts';
import type { QueueStatus } from '../../shared/recovery/queue-status.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { loadDefinition } from '../../shared/definition/load.ts';
import { testDefinitionInput } from '../fixtures/test-pipeline/definition.ts';
import { makeProcessorRequest, makeQueueEntry, pubsubEvent } from '../support/factories.ts';
import { rid, world } from '../support/orchestrator-world.ts';

describe('partition dependencies', () => {
  const trigger = loadDefinition({
    ...testDefinitionInput,
    dependencies: { mode: 'trigger', concurrency: 1 },
  });
  const runsOf = (w: ReturnType<typeof world>, partition: string) =>
    (w.store.docs(COLLECTIONS.runs) as unknown as RunDoc[]).filter((r) => r.partition === partition);

  it('waits, naming the earlier partitions, when the pipeline says wait (the default)', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '1993-01-04', triggerSource: 'manual' }, { messageId: 'd1' }),
    );
    await w.pumpAll();
    const entry = await w.store.get(COLLECTIONS.queue, `${rid('1993-01-04', 'd1')}--beta--summary`);
    expect(entry).toMatchObject({
      status: 'waiting',
      errorReason: 'earlier_partitions_missing',
      waitingForPartitions: ['1993-01-01', '1993-01-02', '1993-01-03'],
    });
    expect(String(entry?.lastError)).toMatch(
      /^waiting for earlier partitions: 1993-01-01 … 1993-01-03 \(3\): the summary of 1993-01-04 carries its month so far/,
    );
    expect(actionNeeded('waiting', String(entry?.errorReason))).toBe('Waiting for earlier partitions');
    expect(runsOf(w, '1993-01-01')).toEqual([]);
  });

  it("with 'trigger', runs the earlier partitions in order, once each, and the waiting run resumes to SUCCESS", async () => {
    const w = world({ definition: trigger });
    // Two triggers of the same partition at once: one run, and each earlier partition is run once.
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '1993-01-04', triggerSource: 'manual' }, { messageId: 'd1' }),
    );
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '1993-01-04', triggerSource: 'manual' }, { messageId: 'd2' }),
    );
    await w.pumpAll();
    for (const day of ['1993-01-01', '1993-01-02', '1993-01-03', '1993-01-04']) {
      expect(
        runsOf(w, day).map((r) => r.status),
        day,
      ).toEqual(['SUCCESS']);
    }
    const starts = (w.store.docs(COLLECTIONS.runs) as unknown as RunDoc[])
      .filter((r) => r.triggerSource === 'backfill')
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    expect(starts.map((r) => r.partition)).toEqual(['1993-01-01', '1993-01-02', '1993-01-03']);
    expect(w.store.docs(COLLECTIONS.dependencies).map((d) => [d.partition, d.status])).toEqual([
      ['1993-01-01', 'done'],
      ['1993-01-02', 'done'],
      ['1993-01-03', 'done'],
    ]);
    expect(w.store.docs(COLLECTIONS.queue).filter((e) => isOpen(e.status as QueueStatus))).toEqual([]);
  });

  it('resumes a waiting entry once per state of its earlier partitions: waiting again after they succeeded is no loop', async () => {
    const w = world({ definition: trigger });
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '1993-05-01', triggerSource: 'manual' }, { messageId: 'l1' }),
    );
    await w.pumpAll();
    const request = makeProcessorRequest({ phase: 'beta', processor: 'summary', partition: '1993-05-02' });
    const waiting = makeQueueEntry({
      requestId: request.requestId,
      status: 'waiting',
      errorType: 'not_ready',
      errorReason: 'earlier_partitions_missing',
      lastError: 'waiting for earlier partitions: 1993-05-01: test',
      runId: request.runId,
      partition: '1993-05-02',
      phase: 'beta',
      processor: 'summary',
      request,
      retryCount: 0,
      waitChecks: 0,
      nextRetryAt: '2099-01-01T00:00:00.000Z',
      deadlineAt: '2099-01-01T00:00:00.000Z',
      waitingForPartitions: ['1993-05-01'],
    });
    await w.store.set(COLLECTIONS.queue, request.requestId, waiting);
    const deps = {
      definition: trigger,
      store: w.store,
      publisher: w.publisher,
      clock: w.clock,
      logger: w.logger,
    };
    expect((await pumpDependencies(deps)).resumed).toEqual([request.requestId]);
    // It waited again (recordFailure keeps the resume key), the earlier run unchanged: not resumed again.
    await w.store.set(COLLECTIONS.queue, request.requestId, {
      ...waiting,
      dependencyResumeKey: (await w.store.get(COLLECTIONS.queue, request.requestId))?.dependencyResumeKey,
    });
    expect((await pumpDependencies(deps)).resumed).toEqual([]);
  });

  it('a request published by hand outside any run waits and starts nothing (no run to resume)', async () => {
    const w = world({ definition: trigger });
    const request = makeProcessorRequest({
      phase: 'beta',
      processor: 'summary',
      runId: 'by-hand',
      partition: '1993-03-03',
    });
    await w.phases.beta!(pubsubEvent(request, { messageId: 'h1' }));
    await w.pumpAll();
    expect(await w.store.get(COLLECTIONS.queue, request.requestId)).toMatchObject({
      status: 'waiting',
      errorReason: 'earlier_partitions_missing',
    });
    expect(w.store.docs(COLLECTIONS.runs)).toEqual([]);
    expect(w.store.docs(COLLECTIONS.dependencies)).toEqual([]);
  });

  it('an earlier partition that fails leaves the waiting run waiting, saying which; fixed, it resumes', async () => {
    const alerts: Alert[] = [];
    const w = world({ definition: trigger, notifier: (a) => Promise.resolve(void alerts.push(a)) });
    await w.store.set('refused_partitions', '1993-02-02', { why: 'test' });
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '1993-02-03', triggerSource: 'manual' }, { messageId: 'f1' }),
    );
    await w.pumpAll();
    expect(runsOf(w, '1993-02-01').map((r) => r.status)).toEqual(['SUCCESS']);
    expect(runsOf(w, '1993-02-02').map((r) => r.status)).toEqual(['FAILED']);
    const waiting = `${rid('1993-02-03', 'f1')}--beta--summary`;
    const entry = await w.store.get(COLLECTIONS.queue, waiting);
    expect(entry).toMatchObject({ status: 'waiting', errorReason: 'earlier_partitions_missing' });
    expect(String(entry?.lastError)).toMatch(
      /\[an earlier partition failed: run 1993-02-02_\w+ of 1993-02-02 ended FAILED/,
    );
    expect(alerts.map((a) => a.dedupKey)).toContain('dependency_failed:1993-02-02');
    // A person fixes the source and runs the partition again: the waiting run resumes by itself.
    await w.store.set('refused_partitions', '1993-02-02', {});
    w.store.collections.get('refused_partitions')!.delete('1993-02-02');
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '1993-02-02', triggerSource: 'manual' }, { messageId: 'f2' }),
    );
    await w.pumpAll();
    expect(runsOf(w, '1993-02-03').map((r) => r.status)).toEqual(['SUCCESS']);
    expect(await w.store.get(COLLECTIONS.queue, waiting)).toMatchObject({ status: 'succeeded' });
  });
});
