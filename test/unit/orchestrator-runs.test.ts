import { describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { TOPICS } from '../../shared/messages/messages.ts';
import { ORPHANED_AFTER_MS } from '../../shared/orchestration/outbox.ts';
import { pubsubEvent } from '../support/factories.ts';
import { Crash, requestsOn, rid, world } from '../support/orchestrator-world.ts';

describe('orchestrator', () => {
  it('creates the run, fans out the first phase, and runs to SUCCESS', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    expect(
      requestsOn(w, 'alpha')
        .map((r) => r.requestId)
        .sort(),
    ).toEqual([`${rid('2024-04-21', 'm1')}--alpha--gadgets`, `${rid('2024-04-21', 'm1')}--alpha--widgets`]);
    await w.pump();
    const run = await w.store.get(COLLECTIONS.runs, rid('2024-04-21', 'm1'));
    expect(run).toMatchObject({
      status: 'SUCCESS',
      phases: { alpha: { status: 'SUCCEEDED', done: 2 }, beta: { status: 'SUCCEEDED', done: 1 } },
      lastError: null,
    });
    expect((run?.statusHistory as { status: string }[]).map((h) => h.status)).toEqual(['RUNNING', 'SUCCESS']);
  });

  it('triggers the next phase exactly once when every completion is delivered three times, shuffled', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump(3);
    expect(requestsOn(w, 'beta')).toHaveLength(1);
    expect(w.store.docs(COLLECTIONS.outbox).filter((o) => o.topic === 'phase-beta')).toHaveLength(1);
    expect((await w.store.get(COLLECTIONS.runs, rid('2024-04-21', 'm1')))?.status).toBe('SUCCESS');
  });

  it('does not start a second run while one is RUNNING for the date, unless forced', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm2' }),
    );
    expect(await w.store.get(COLLECTIONS.runs, rid('2024-04-21', 'm2'))).toBeUndefined();
    expect(w.store.docs(COLLECTIONS.events).find((e) => e.type === 'run_rejected')?.message).toMatch(
      /already RUNNING/,
    );
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual', force: true }, { messageId: 'm3' }),
    );
    expect(await w.store.get(COLLECTIONS.runs, rid('2024-04-21', 'm3'))).toMatchObject({ status: 'RUNNING' });
  });

  it('a redelivered run request does not create a second run or second triggers', async () => {
    const w = world();
    const event = pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' });
    await w.orchestrator.onRunRequest(event);
    await w.orchestrator.onRunRequest(event);
    expect(w.store.docs(COLLECTIONS.runs)).toHaveLength(1);
    expect(requestsOn(w, 'alpha')).toHaveLength(2);
  });

  it('still triggers when it crashes between the decision and the publish', async () => {
    const w = world({ crashAt: 'after-trigger-decision' });
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    const completions = () => w.publisher.published.filter((p) => p.topic === TOPICS.processorCompletions);
    // Run the phase; the last completion's handling crashes after deciding.
    await expect(w.pump()).rejects.toThrow(Crash);
    expect(requestsOn(w, 'beta')).toHaveLength(0);
    const pending = w.store.docs(COLLECTIONS.outbox).filter((o) => o.status === 'pending');
    expect(pending).toHaveLength(1);
    // The decision named the message that decided it as the trigger's sender: a duplicate of the
    // other completion sends nothing, and Pub/Sub's redelivery of the unacked one sends it.
    const crashed = completions().find((c) => c.messageId === pending[0]!.sender)!;
    const other = completions().find((c) => c !== crashed)!;
    await w.orchestrator.onProcessorOutcome(
      pubsubEvent(other.message, { messageId: `${other.messageId}-dup` }),
    );
    expect(requestsOn(w, 'beta')).toHaveLength(0);
    await w.orchestrator.onProcessorOutcome(pubsubEvent(crashed.message, { messageId: crashed.messageId }));
    expect(requestsOn(w, 'beta')).toHaveLength(1);
  });

  it('a completion re-published as a new message (a queue retry) after its decider died sends the trigger left pending', async () => {
    const w = world({ crashAt: 'after-trigger-decision' });
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await expect(w.pump()).rejects.toThrow(Crash);
    const [pending] = w.store.docs(COLLECTIONS.outbox).filter((o) => o.status === 'pending');
    const crashed = w.publisher.published.find((c) => c.messageId === pending!.sender)!;
    // Its delivery was dead-lettered; the queue re-publishes the completion under a new message id.
    w.clock.advance(ORPHANED_AFTER_MS);
    await w.orchestrator.onProcessorOutcome(
      pubsubEvent({ ...(crashed.message as object), triggerSource: 'retry' }, { messageId: 'retried' }),
    );
    expect(requestsOn(w, 'beta')).toHaveLength(1);
  });

  it('marks a run PARTIAL when a later processor fails for good, FAILED when the root does', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '1995-05-01', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    expect(await w.store.get(COLLECTIONS.runs, rid('1995-05-01', 'm1'))).toMatchObject({
      status: 'PARTIAL',
      lastError: 'summary (permanent): summary of 1995-05-01 cannot be computed',
    });
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '1998-05-01', triggerSource: 'manual' }, { messageId: 'm2' }),
    );
    await w.pump();
    expect(await w.store.get(COLLECTIONS.runs, rid('1998-05-01', 'm2'))).toMatchObject({ status: 'FAILED' });
  });

  it('rejects a bad run request as NEEDS MANUAL FIX instead of crash-looping', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-13-01', triggerSource: 'manual' }, { messageId: 'bad' }),
    );
    await w.orchestrator.onRunRequest(
      pubsubEvent(
        { partition: '2024-04-01', triggerSource: 'manual', startPhase: 'gamma' },
        { messageId: 'bad2' },
      ),
    );
    expect(await w.store.get(COLLECTIONS.queue, 'msg-bad')).toMatchObject({
      status: 'failed_permanent',
      phase: 'orchestrator',
    });
    expect((await w.store.get(COLLECTIONS.queue, 'msg-bad2'))?.lastError).toBe(
      'unknown startPhase "gamma"; phases are alpha, beta',
    );
  });

  it('starts from a given phase with chosen processors, for recovery, once the date has the data that run reads', async () => {
    const w = world();
    // On a date that never ran, gadgets alone would leave widgets without data: refused, saying why.
    await w.orchestrator.onRunRequest(
      pubsubEvent(
        { partition: '2024-04-21', triggerSource: 'manual', startPhase: 'alpha', processors: ['gadgets'] },
        { messageId: 'm0' },
      ),
    );
    expect(w.store.docs(COLLECTIONS.runs)).toEqual([]);
    expect(await w.store.get(COLLECTIONS.queue, 'msg-m0')).toMatchObject({
      status: 'failed_permanent',
      partition: '2024-04-21',
      lastError: expect.stringContaining(
        '2024-04-21 has never run: running only gadgets of alpha would leave widgets without data; run the partition whole first',
      ) as unknown,
    });
    await w.orchestrator.onRunRequest(
      pubsubEvent(
        { partition: '2024-04-21', triggerSource: 'manual', startPhase: 'beta' },
        { messageId: 'm00' },
      ),
    );
    expect(String((await w.store.get(COLLECTIONS.queue, 'msg-m00'))?.lastError)).toContain(
      'a run from phase beta would read phases alpha that never ran',
    );
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'whole' }),
    );
    await w.pump();
    await w.orchestrator.onRunRequest(
      pubsubEvent(
        { partition: '2024-04-21', triggerSource: 'manual', startPhase: 'alpha', processors: ['gadgets'] },
        { messageId: 'm1' },
      ),
    );
    expect(
      requestsOn(w, 'alpha')
        .map((r) => r.requestId)
        .filter((id) => id.startsWith(rid('2024-04-21', 'm1'))),
    ).toEqual([`${rid('2024-04-21', 'm1')}--alpha--gadgets`]);
    await w.pump();
    expect(await w.store.get(COLLECTIONS.runs, rid('2024-04-21', 'm1'))).toMatchObject({ status: 'SUCCESS' });
  });
});
