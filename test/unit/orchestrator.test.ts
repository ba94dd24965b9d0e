import { describe, expect, it } from 'vitest';
import { MemoryPublisher } from '../../shared/testing/memory-publisher.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { createHttpClient } from '../../shared/lib/http-client.ts';
import { createOrchestrator, ORCHESTRATION_STEPS } from '../../shared/orchestration/orchestrator.ts';
import { runIdFor } from '../../shared/orchestration/start-run.ts';
import { addToOutbox, flushOutbox } from '../../shared/orchestration/outbox.ts';
import { reconcile } from '../../shared/operations/reconciler.ts';
import { checkCompleteness, type CompletenessRules } from '../../shared/operations/completeness.ts';
import { actionNeeded } from '../../shared/recovery/queue-policy.ts';
import { createDlqRecorder } from '../../shared/recovery/dlq-recorder.ts';
import { runAutoRetryTick } from '../../shared/recovery/auto-retry.ts';
import type { Alert, Notifier } from '../../shared/recovery/notifier.ts';
import type { RunDoc } from '../../shared/orchestration/run-doc.ts';
import { pumpDependencies } from '../../shared/orchestration/dependencies/pump-dependencies.ts';
import { isOpen } from '../../shared/recovery/queue-policy.ts';
import type { QueueStatus } from '../../shared/runtime/failure-queue.ts';
import type { GateExpectations } from '../../shared/orchestration/gate.ts';

const rid = (partition: string, messageId: string) => runIdFor(partition, messageId, undefined);
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { createFaultInjector, type CrashPoint } from '../../shared/runtime/faults.ts';
import { crashAfter } from '../../shared/runtime/fault-decorators.ts';
import { createPhaseHandler } from '../../shared/runtime/phase-handler.ts';
import { makeRequestId, phaseTopic, TOPICS } from '../../shared/messages/messages.ts';
import { loadDefinition, type LoadedDefinition } from '../../shared/definition/load.ts';
import { testDefinition, testDefinitionInput } from '../fixtures/test-pipeline/definition.ts';
import { testExpectations } from '../fixtures/test-pipeline/expectations.ts';
import { testProcessors } from '../fixtures/test-pipeline/processors.ts';
import { makeProcessorRequest, makeQueueEntry, manualClock, pubsubEvent } from '../support/factories.ts';

class Crash extends Error {}

/** The orchestrator and both phase handlers over one in-memory store, with a hand-driven bus. */
function world(
  options: {
    crashAt?: string;
    notifier?: Notifier;
    expectations?: GateExpectations;
    definition?: LoadedDefinition;
  } = {},
) {
  const definition = options.definition ?? testDefinition;
  const store = new MemoryStore();
  const publisher = new MemoryPublisher();
  const clock = manualClock();
  const logger = createMemoryLogger();
  let crashes = options.crashAt ? 1 : 0;
  const faults = {
    ...createFaultInjector({}),
    crashPoint: (point: CrashPoint) => {
      if (point === options.crashAt && crashes > 0) {
        crashes -= 1;
        throw new Crash(`crash at ${point}`);
      }
    },
  };
  const orchestrator = createOrchestrator(
    {
      definition,
      expectations: options.expectations ?? testExpectations,
      store,
      publisher,
      clock,
      logger,
      notifier: options.notifier,
    },
    {
      decideRunStart: crashAfter(ORCHESTRATION_STEPS.decideRunStart, 'after-run-decision', faults),
      decidePhase: crashAfter(ORCHESTRATION_STEPS.decidePhase, 'after-trigger-decision', faults),
    },
  );
  const phases = Object.fromEntries(
    definition.phases.map((p) => [
      p.id,
      createPhaseHandler({
        definition,
        phaseId: p.id,
        processors: testProcessors,
        store,
        publisher,
        clock,
        logger,
        http: createHttpClient({ retries: 0 }),
      }),
    ]),
  );
  let cursor = 0;
  /** Delivers everything published since the last call (optionally each message `copies` times, shuffled). */
  async function pump(copies = 1): Promise<void> {
    for (let guard = 0; guard < 20 && cursor < publisher.published.length; guard += 1) {
      const batch = publisher.published.slice(cursor);
      cursor = publisher.published.length;
      const deliveries = batch
        .flatMap((m) => Array.from({ length: copies }, () => m))
        .sort(() => Math.random() - 0.5);
      for (const m of deliveries) {
        const event = pubsubEvent(m.message, { messageId: m.messageId });
        if (m.topic === TOPICS.processorCompletions) await orchestrator.onProcessorOutcome(event);
        else if (m.topic.startsWith('phase-')) await phases[m.topic.slice('phase-'.length)]!(event);
      }
    }
  }
  /** Everything the pipeline publishes, run requests and auto-retry ticks too, until nothing is left. */
  async function pumpAll(): Promise<void> {
    for (let guard = 0; guard < 500 && cursor < publisher.published.length; guard += 1) {
      const m = publisher.published[cursor]!;
      cursor += 1;
      const event = pubsubEvent(m.message, { messageId: m.messageId });
      if (m.topic === TOPICS.runRequests) await orchestrator.onRunRequest(event);
      else if (m.topic === TOPICS.processorCompletions) await orchestrator.onProcessorOutcome(event);
      else if (m.topic === TOPICS.autoRetryTicks)
        await runAutoRetryTick({ definition, store, publisher, clock, logger });
      else if (m.topic.startsWith('phase-')) await phases[m.topic.slice('phase-'.length)]!(event);
    }
  }
  return { store, publisher, clock, logger, orchestrator, phases, pump, pumpAll };
}

const requestsOn = (w: ReturnType<typeof world>, phase: string) =>
  w.publisher.on(phaseTopic(phase)) as { requestId: string }[];

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

describe('a gate that keeps failing after re-runs', () => {
  it('never closes the entry as recovered: each short re-run counts, and past maxRetries it needs a person, with an alert', async () => {
    const alerts: Alert[] = [];
    const w = world({ notifier: (a) => Promise.resolve(void alerts.push(a)) });
    // 1997-xx-xx: widgets always writes 2 of the 3 documents the date needs.
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '1997-05-01', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    const runId = rid('1997-05-01', 'm1');
    const entryId = makeRequestId({ runId, phase: 'alpha', processor: 'widgets' });
    const statuses: string[] = [];
    for (let round = 0; round < testDefinition.queue.maxRetries + 2; round++) {
      statuses.push(String((await w.store.get(COLLECTIONS.queue, entryId))?.status));
      w.clock.advance(3_600_000);
      await runAutoRetryTick({
        definition: testDefinition,
        store: w.store,
        publisher: w.publisher,
        clock: w.clock,
        logger: w.logger,
        notifier: (a) => Promise.resolve(void alerts.push(a)),
      });
      await w.pump();
    }
    expect(statuses).not.toContain('succeeded');
    const entry = await w.store.get(COLLECTIONS.queue, entryId);
    expect(entry).toMatchObject({
      status: 'failed_permanent',
      needsManualFix: true,
      retryCount: testDefinition.queue.maxRetries,
    });
    expect(String(entry?.lastError)).toMatch(
      /^gate still failing after 3 re-runs: widgets \(partition\) expected 3, found 2/,
    );
    expect(alerts.filter((a) => a.kind === 'failed_permanent').map((a) => a.processor)).toEqual(['widgets']);
    expect((await w.store.get(COLLECTIONS.runs, runId))?.status).not.toBe('SUCCESS');
  });

  it('a re-run that completed while a sibling is still open waits for the gate: not re-claimed, closed when the gate passes', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    const runId = rid('2024-04-21', 'm1');
    const [widgets, gadgets] = ['widgets', 'gadgets'].map((p) =>
      w.publisher.published.find(
        (m) => m.topic === phaseTopic('alpha') && (m.message as { processor: string }).processor === p,
      )!,
    );
    const entryId = makeRequestId({ runId, phase: 'alpha', processor: 'widgets' });
    // widgets had dead-lettered and the auto-retry has claimed its entry: its re-run is in flight.
    await w.store.set(COLLECTIONS.queue, entryId, {
      requestId: entryId,
      status: 'retrying',
      errorType: 'transient',
      errorReason: 'dead_lettered',
      lastError: 'boom',
      needsManualFix: false,
      runId,
      partition: '2024-04-21',
      phase: 'alpha',
      processor: 'widgets',
      request: widgets!.message,
      failureEventId: null,
      firstFailedAt: '2026-03-01T11:00:00.000Z',
      retryCount: 1,
      nextRetryAt: '2026-03-01T12:30:00.000Z',
      deadlineAt: null,
      lastClaim: 'retry',
    });
    const deliver = async (m: (typeof w.publisher.published)[number]) =>
      w.phases.alpha!(
        pubsubEvent({ ...(m.message as object), triggerSource: 'retry' }, { messageId: m.messageId }),
      );
    await deliver(widgets!);
    for (const c of w.publisher.on(TOPICS.processorCompletions))
      await w.orchestrator.onProcessorOutcome(pubsubEvent(c, { messageId: 'c1' }));
    expect(await w.store.get(COLLECTIONS.queue, entryId)).toMatchObject({
      status: 'retrying',
      awaitingGate: true,
      nextRetryAt: null,
    });
    expect(actionNeeded('retrying', 'dead_lettered', true)).toBe('Re-run done, waiting for the gate');
    // Hours later the sibling is still open: no tick re-runs widgets or spends its retries.
    const published = w.publisher.published.length;
    w.clock.advance(3 * 3_600_000);
    expect(
      (
        await runAutoRetryTick({
          definition: testDefinition,
          store: w.store,
          publisher: w.publisher,
          clock: w.clock,
          logger: w.logger,
        })
      ).retried,
    ).toBe(0);
    expect(w.publisher.published.length).toBe(published);
    await deliver(gadgets!);
    const completions = w.publisher.on(TOPICS.processorCompletions);
    await w.orchestrator.onProcessorOutcome(pubsubEvent(completions.at(-1), { messageId: 'c2' }));
    expect(await w.store.get(COLLECTIONS.queue, entryId)).toMatchObject({
      status: 'succeeded',
      retryCount: 1,
    });
  });

  it('closes the entry only when the phase passes its gate in the run', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '1994-05-01', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    const runId = rid('1994-05-01', 'm1');
    const entryId = makeRequestId({ runId, phase: 'alpha', processor: 'widgets' });
    expect(await w.store.get(COLLECTIONS.queue, entryId)).toMatchObject({ status: 'waiting' });
    await w.store.set('source_published', '1994-05-01', { at: 'now' });
    // Past the source's cadence (2 s here), well before its deadline.
    w.clock.advance(10_000);
    await runAutoRetryTick({
      definition: testDefinition,
      store: w.store,
      publisher: w.publisher,
      clock: w.clock,
      logger: w.logger,
    });
    await w.pump();
    expect(await w.store.get(COLLECTIONS.queue, entryId)).toMatchObject({ status: 'succeeded' });
    expect((await w.store.get(COLLECTIONS.runs, runId))?.status).toBe('SUCCESS');
  });
});

describe('the reconciler racing the orchestrator', () => {
  it('sends again, each tick, the alerts whose webhook POST failed', async () => {
    const w = world();
    let calls = 0;
    const notifier: Notifier = Object.assign(() => Promise.resolve(), {
      resendPending: () => Promise.resolve(++calls),
    });
    const result = await reconcile({
      definition: testDefinition,
      store: w.store,
      publisher: w.publisher,
      clock: w.clock,
      logger: w.logger,
      notifier,
    });
    expect(result.alertsResent).toBe(1);
    expect(calls).toBe(1);
  });

  it('never writes a status computed before a gate that passed meanwhile: the run stays SUCCESS, its phases SUCCEEDED', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    const deliver = async (topic: string) => {
      for (const m of w.publisher.published.filter((p) => p.topic === topic && !delivered.has(p))) {
        delivered.add(m);
        const event = pubsubEvent(m.message, { messageId: m.messageId });
        if (topic === TOPICS.processorCompletions) await w.orchestrator.onProcessorOutcome(event);
        else await w.phases[topic.slice('phase-'.length)]!(event);
      }
    };
    const delivered = new Set<(typeof w.publisher.published)[number]>();
    await deliver(phaseTopic('alpha'));
    await deliver(TOPICS.processorCompletions);
    await deliver(phaseTopic('beta'));
    const runId = rid('2024-04-21', 'm1');
    expect(await w.store.get(COLLECTIONS.runs, runId)).toMatchObject({ status: 'RUNNING' });
    // The reconciler reads the run's phase documents, then its queue entries: in between, beta's gate passes.
    const query = w.store.query.bind(w.store);
    let raced = false;
    w.store.query = async (collection, options) => {
      if (collection === COLLECTIONS.queue && !raced) {
        raced = true;
        await deliver(TOPICS.processorCompletions);
      }
      return query(collection, options);
    };
    await reconcile({
      definition: testDefinition,
      store: w.store,
      publisher: w.publisher,
      clock: w.clock,
      logger: w.logger,
    });
    expect(raced).toBe(true);
    const run = (await w.store.get(COLLECTIONS.runs, runId)) as {
      status: string;
      phases: Record<string, { status: string }>;
    };
    expect(run.status).toBe('SUCCESS');
    expect(Object.values(run.phases).map((p) => p.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
  });
});

describe('deciding a phase when its last completions arrive together', () => {
  /** Runs the first phase's processors and returns their completions, undelivered. */
  async function completionsOfAlpha(w: ReturnType<typeof world>) {
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    for (const m of w.publisher.published.filter((p) => p.topic === phaseTopic('alpha')))
      await w.phases.alpha!(pubsubEvent(m.message, { messageId: m.messageId }));
    return w.publisher.published
      .filter((p) => p.topic === TOPICS.processorCompletions)
      .map((m) => pubsubEvent(m.message, { messageId: m.messageId }));
  }
  const decidedBy = (w: ReturnType<typeof world>) =>
    w.logger.lines.filter((l) => l.message === 'phase being decided by another delivery').length;

  it('lets one delivery decide and the other ack at once, instead of both waiting on the transaction', async () => {
    const w = world();
    const completions = await completionsOfAlpha(w);
    expect(completions).toHaveLength(2);
    await Promise.all(completions.map((c) => w.orchestrator.onProcessorOutcome(c)));
    expect(requestsOn(w, 'beta')).toHaveLength(1);
    expect(decidedBy(w)).toBe(1);
    expect(w.store.docs(COLLECTIONS.decisionClaims)).toHaveLength(1);
  });

  it('a claimant that fails before deciding decides on its redelivery; the other delivery does not decide meanwhile', async () => {
    const w = world();
    const [first, second] = await completionsOfAlpha(w);
    await w.orchestrator.onProcessorOutcome(first!);
    const transaction = w.store.transaction.bind(w.store);
    let failures = 1;
    // The decision's commit fails once, after the claim is taken.
    w.store.transaction = (fn) =>
      w.store.docs(COLLECTIONS.decisionClaims).length > 0 && failures-- > 0
        ? Promise.reject(new Error('14 UNAVAILABLE: commit failed'))
        : transaction(fn);
    await expect(w.orchestrator.onProcessorOutcome(second!)).rejects.toThrow(/UNAVAILABLE/);
    await w.orchestrator.onProcessorOutcome(first!);
    expect(requestsOn(w, 'beta')).toHaveLength(0);
    expect(decidedBy(w)).toBe(1);
    await w.orchestrator.onProcessorOutcome(second!);
    expect(requestsOn(w, 'beta')).toHaveLength(1);
  });

  it('a stale claim stops nobody', async () => {
    const w = world();
    const completions = await completionsOfAlpha(w);
    await w.store.set(COLLECTIONS.decisionClaims, `${rid('2024-04-21', 'm1')}_alpha`, {
      owner: 'a-delivery-that-died',
      at: w.clock.now().toISOString(),
    });
    for (const c of completions) await w.orchestrator.onProcessorOutcome(c);
    expect(requestsOn(w, 'beta')).toHaveLength(0);
    w.clock.advance(61_000);
    await w.orchestrator.onProcessorOutcome(completions[1]!);
    expect(requestsOn(w, 'beta')).toHaveLength(1);
  });
});

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

  it('fails the gate when a completion was published without the data, with the exact shortfall', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '1997-05-01', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    expect(requestsOn(w, 'beta')).toHaveLength(0);
    const gate = w.store.docs(COLLECTIONS.events).find((e) => e.type === 'gate_failed');
    expect(gate?.shortfalls).toEqual([
      { collection: 'widgets', partitionField: 'partition', expected: 3, found: 2, processors: ['widgets'] },
    ]);
    expect(await w.store.get(COLLECTIONS.queue, `${rid('1997-05-01', 'm1')}--alpha--widgets`)).toMatchObject({
      status: 'pending',
      errorReason: 'gate_failed',
      processor: 'widgets',
    });
    expect(await w.store.get(COLLECTIONS.runs, rid('1997-05-01', 'm1'))).toMatchObject({
      status: 'FAILED',
      lastError: 'gate of phase alpha failed: widgets (partition) expected 3, found 2',
    });
  });

  it('fails the gate on values, not only counts: every document is checked, the first invalid ones named', async () => {
    // Widgets have index 0, 1, 2; this check allows only 0 and 1. Three documents, the minimum met.
    const valueChecked: GateExpectations = {
      table: {
        ...testExpectations.table,
        alpha: {
          ...testExpectations.table.alpha!,
          widgets: {
            partition: {
              min: 3,
              each: (doc) =>
                Number(doc.data.index) < 2 ? undefined : `index ${String(doc.data.index)} is out of range`,
            },
          },
        },
      },
    };
    const w = world({ expectations: valueChecked });
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    expect(requestsOn(w, 'beta')).toHaveLength(0);
    const runId = rid('2024-04-21', 'm1');
    expect(w.store.docs(COLLECTIONS.events).find((e) => e.type === 'gate_failed')?.shortfalls).toEqual([
      {
        collection: 'widgets',
        partitionField: 'partition',
        expected: 3,
        found: 3,
        processors: ['widgets'],
        invalid: { count: 1, first: [{ id: '2024-04-21_2', problem: 'index 2 is out of range' }] },
      },
    ]);
    expect(await w.store.get(COLLECTIONS.runs, runId)).toMatchObject({
      status: 'FAILED',
      lastError:
        'gate of phase alpha failed: widgets (partition) 1 of 3 fail their check (2024-04-21_2: index 2 is out of range)',
    });
    expect(await w.store.get(COLLECTIONS.queue, `${runId}--alpha--widgets`)).toMatchObject({
      status: 'pending',
      errorReason: 'gate_failed',
    });
  });

  it('a value check that throws on a document fails the gate naming it, rather than failing the gate itself', async () => {
    const throwing: GateExpectations = {
      table: {
        ...testExpectations.table,
        alpha: {
          ...testExpectations.table.alpha!,
          widgets: {
            partition: {
              min: 3,
              each: (doc) =>
                doc.data.index === 1 ? (doc.data.missing as { x: number }).x.toFixed() : undefined,
            },
          },
        },
      },
    };
    const w = world({ expectations: throwing });
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    const run = await w.store.get(COLLECTIONS.runs, rid('2024-04-21', 'm1'));
    expect(run?.status).toBe('FAILED');
    expect(String(run?.lastError)).toMatch(
      /widgets \(partition\) 1 of 3 fail their check \(2024-04-21_1: its check threw: .*undefined/,
    );
  });

  it("a value check that passes lets the run through, and only this run's documents are checked", async () => {
    const checked: string[] = [];
    const valueChecked: GateExpectations = {
      table: {
        ...testExpectations.table,
        alpha: {
          ...testExpectations.table.alpha!,
          widgets: { partition: { min: 3, each: (doc) => void checked.push(doc.id) } },
        },
      },
    };
    const w = world({ expectations: valueChecked });
    // A widget of another partition and a stale one of this partition: neither is this run's.
    await w.store.set('widgets', 'other', { partition: '2024-04-20', index: 9, runId: 'x' });
    await w.store.set('widgets', 'stale', { partition: '2024-04-21', index: 9, runId: 'old-run' });
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    expect((await w.store.get(COLLECTIONS.runs, rid('2024-04-21', 'm1')))?.status).toBe('SUCCESS');
    expect(checked.sort()).toEqual(['2024-04-21_0', '2024-04-21_1', '2024-04-21_2']);
  });

  it('fails closed when the expectations forget an output: NEEDS MANUAL FIX naming it, an alert, never a re-run', async () => {
    const alerts: Alert[] = [];
    // The gadgets output has no expectation: before, it counted as "0 expected" and the gate passed.
    const { gadgets: _forgotten, ...alpha } = testExpectations.table.alpha!;
    const forgetful: GateExpectations = { table: { ...testExpectations.table, alpha } };
    const w = world({ expectations: forgetful, notifier: (a) => Promise.resolve(void alerts.push(a)) });
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    expect(requestsOn(w, 'beta')).toHaveLength(0);
    const runId = rid('2024-04-21', 'm1');
    const entry = await w.store.get(COLLECTIONS.queue, `${runId}--alpha--gadgets`);
    expect(entry).toMatchObject({ status: 'failed_permanent', needsManualFix: true, errorType: 'permanent' });
    expect(entry).toMatchObject({ errorReason: 'gate_no_expectation', nextRetryAt: null });
    const named =
      "gadgets (partition): the pipeline's expectations name no minimum for this output of gadgets";
    expect(String(entry?.lastError)).toContain(named);
    expect(await w.store.get(COLLECTIONS.queue, `${runId}--alpha--widgets`)).toBeUndefined();
    expect(alerts.filter((a) => a.kind === 'failed_permanent').map((a) => a.processor)).toEqual(['gadgets']);
    expect(await w.store.get(COLLECTIONS.runs, runId)).toMatchObject({ status: 'FAILED' });
    // A tick much later re-runs nothing: a re-run cannot add an expectation.
    w.clock.advance(24 * 3600_000);
    const before = requestsOn(w, 'alpha').length;
    await runAutoRetryTick({
      definition: testDefinition,
      store: w.store,
      publisher: w.publisher,
      clock: w.clock,
      logger: w.logger,
    });
    expect(requestsOn(w, 'alpha')).toHaveLength(before);
  });

  it('counts stale documents of an earlier run as missing', async () => {
    const w = world();
    await w.store.writeBatch(
      [0, 1, 2].map((i) => ({
        collection: 'widgets',
        id: `1996-05-01_${i}`,
        data: { partition: '1996-05-01', runId: 'an-old-run' },
      })),
    );
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '1996-05-01', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    expect(w.store.docs(COLLECTIONS.events).find((e) => e.type === 'gate_failed')?.message).toBe(
      'widgets (partition) expected 3, found 0',
    );
    expect(requestsOn(w, 'beta')).toHaveLength(0);
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
    expect(w.store.docs(COLLECTIONS.outbox).filter((o) => o.status === 'pending')).toHaveLength(1);
    // Pub/Sub redelivers the unacked completion: the pending trigger is sent.
    const last = completions().at(-1)!;
    await w.orchestrator.onProcessorOutcome(pubsubEvent(last.message, { messageId: last.messageId }));
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

describe('run generations: a date has one current run', () => {
  const tick = (w: ReturnType<typeof world>) =>
    runAutoRetryTick({
      definition: testDefinition,
      store: w.store,
      publisher: w.publisher,
      clock: w.clock,
      logger: w.logger,
    });
  const stampedBy = (w: ReturnType<typeof world>, runId: string) =>
    ['widgets', 'gadgets', 'summaries'].flatMap((c) => w.store.docs(c)).filter((d) => d.runId === runId);

  it('a retry of an older run is closed as superseded, never re-run: the newer run keeps its documents', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    const [old, current] = [rid('2024-04-21', 'm1'), rid('2024-04-21', 'm2')];
    const oldWidgets = requestsOn(w, 'alpha').find(
      (r) => r.requestId === makeRequestId({ runId: old, phase: 'alpha', processor: 'widgets' }),
    )!;
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm2' }),
    );
    await w.pump();
    expect(await w.store.get(COLLECTIONS.runs, old)).toMatchObject({
      status: 'SUPERSEDED',
      supersededBy: current,
    });
    expect(await w.store.get(COLLECTIONS.runs, current)).toMatchObject({ status: 'SUCCESS' });
    // An entry of the old run, due: the tick closes it, publishes nothing.
    await w.store.set(COLLECTIONS.queue, oldWidgets.requestId, {
      requestId: oldWidgets.requestId,
      status: 'pending',
      errorType: 'transient',
      errorReason: 'dead_lettered',
      lastError: 'boom',
      needsManualFix: false,
      runId: old,
      partition: '2024-04-21',
      phase: 'alpha',
      processor: 'widgets',
      request: oldWidgets,
      failureEventId: null,
      firstFailedAt: '2026-03-01T11:00:00.000Z',
      retryCount: 0,
      nextRetryAt: '2026-03-01T11:00:00.000Z',
      deadlineAt: null,
    });
    const published = w.publisher.published.length;
    expect(await tick(w)).toMatchObject({ retried: 0, superseded: 1 });
    expect(w.publisher.published.length).toBe(published);
    const closed = await w.store.get(COLLECTIONS.queue, oldWidgets.requestId);
    expect(closed).toMatchObject({ status: 'superseded', needsManualFix: false });
    expect(String(closed?.note)).toContain(`superseded by run ${current}`);
    // The old request delivered anyway (a retry already in flight): acked, an event, nothing written.
    await w.phases.alpha!(pubsubEvent({ ...oldWidgets, triggerSource: 'retry' }, { messageId: 'late' }));
    expect(stampedBy(w, old)).toEqual([]);
    expect(
      w.store
        .docs(COLLECTIONS.events)
        .filter((e) => e.type === 'superseded')
        .map((e) => e.requestId),
    ).toEqual([oldWidgets.requestId]);
    expect(await w.store.get(COLLECTIONS.runs, current)).toMatchObject({ status: 'SUCCESS' });
  });

  it('a forced second run mid-run: the old run decides nothing, triggers nothing, and stamps nothing', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual', force: true }, { messageId: 'm2' }),
    );
    // Both runs' requests delivered, twice each, shuffled.
    await w.pump(2);
    const [old, current] = [rid('2024-04-21', 'm1'), rid('2024-04-21', 'm2')];
    expect(await w.store.get(COLLECTIONS.runs, old)).toMatchObject({ status: 'SUPERSEDED' });
    expect(await w.store.get(COLLECTIONS.runs, current)).toMatchObject({ status: 'SUCCESS' });
    expect(requestsOn(w, 'beta').filter((r) => r.requestId.startsWith(old))).toEqual([]);
    expect(stampedBy(w, old)).toEqual([]);
    expect(w.store.docs('widgets').map((d) => d.runId)).toEqual([current, current, current]);
  });

  it('a write of a run superseded while it ran is refused whole, and its attempt is acked as superseded', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    const old = rid('2024-04-21', 'm1');
    const request = requestsOn(w, 'alpha').find(
      (r) => r.requestId === makeRequestId({ runId: old, phase: 'alpha', processor: 'widgets' }),
    )!;
    // The forced run takes the date between the old attempt's start and its first write.
    const original = w.store.transaction.bind(w.store);
    let taken = false;
    w.store.transaction = async (fn) => {
      if (!taken && (await w.store.get(COLLECTIONS.processorRuns, request.requestId))?.status === 'running') {
        taken = true;
        await w.orchestrator.onRunRequest(
          pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual', force: true }, { messageId: 'm2' }),
        );
      }
      return original(fn);
    };
    await w.phases.alpha!(pubsubEvent(request, { messageId: 'r1' }));
    expect(taken).toBe(true);
    expect(stampedBy(w, old)).toEqual([]);
    expect(w.publisher.on(TOPICS.processorCompletions)).toEqual([]);
    expect(w.store.docs(COLLECTIONS.events).find((e) => e.type === 'superseded')?.message).toMatch(
      /^write of run /,
    );
  });

  it('an open entry the new run does not cover is re-targeted as a run of its date from its phase and processor', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    const [old, current] = [rid('2024-04-21', 'm1'), rid('2024-04-21', 'm2')];
    // The new run re-runs widgets only; gadgets of the old run still has an open entry (say, a late failure).
    await w.orchestrator.onRunRequest(
      pubsubEvent(
        { partition: '2024-04-21', triggerSource: 'manual', startPhase: 'alpha', processors: ['widgets'] },
        { messageId: 'm2' },
      ),
    );
    const gadgets = makeRequestId({ runId: old, phase: 'alpha', processor: 'gadgets' });
    await w.store.set(COLLECTIONS.queue, gadgets, {
      requestId: gadgets,
      status: 'failed_permanent',
      errorType: 'permanent',
      errorReason: 'permanent',
      lastError: 'gadgets broke',
      needsManualFix: true,
      runId: old,
      partition: '2024-04-21',
      phase: 'alpha',
      processor: 'gadgets',
      request: { runId: old, requestId: gadgets },
      failureEventId: null,
      firstFailedAt: '2026-03-01T11:00:00.000Z',
      retryCount: 1,
      nextRetryAt: null,
      deadlineAt: null,
    });
    // A failed_permanent entry is never due: the reconciler's sweep settles it.
    expect(
      (
        await reconcile({
          definition: testDefinition,
          store: w.store,
          publisher: w.publisher,
          clock: w.clock,
          logger: w.logger,
        })
      ).superseded,
    ).toEqual([gadgets]);
    const closed = await w.store.get(COLLECTIONS.queue, gadgets);
    expect(closed).toMatchObject({ status: 'superseded' });
    expect(String(closed?.note)).toMatch(
      new RegExp(
        `superseded by run ${current}, which does not run alpha/gadgets: re-targeted to run-request-\\w+`,
      ),
    );
    const retargeted = w.store
      .docs(COLLECTIONS.queue)
      .find((e) => e.requestId !== gadgets && e.status === 'pending');
    expect(retargeted).toMatchObject({
      runId: null,
      partition: '2024-04-21',
      processor: 'gadgets',
      retryCount: 1,
      lastError: 'gadgets broke',
      retryTarget: {
        topic: TOPICS.runRequests,
        message: {
          partition: '2024-04-21',
          triggerSource: 'retry',
          startPhase: 'alpha',
          processors: ['gadgets'],
        },
      },
    });
    await w.pump();
    w.clock.advance(60_000);
    expect(
      (
        await runAutoRetryTick({
          definition: testDefinition,
          store: w.store,
          publisher: w.publisher,
          clock: w.clock,
          logger: w.logger,
        })
      ).retried,
    ).toBe(1);
    const request = w.publisher.published.at(-1)!;
    expect(request.topic).toBe(TOPICS.runRequests);
    await w.orchestrator.onRunRequest(pubsubEvent(request.message, { messageId: 'm3' }));
    await w.pump();
    expect(await w.store.get(COLLECTIONS.queue, String(retargeted?.requestId))).toMatchObject({
      status: 'succeeded',
    });
    expect(await w.store.get(COLLECTIONS.runs, rid('2024-04-21', 'm3'))).toMatchObject({
      status: 'SUCCESS',
      phases: { alpha: { expected: ['gadgets'] } },
    });
  });

  it('completeness never enqueues a re-run against a run still RUNNING; it says which run will decide', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    const rules: CompletenessRules = {
      partitions: () => Promise.resolve(['2024-04-21']),
      expectedDocs: (partition) =>
        Promise.resolve(
          [0, 1, 2].map((i) => ({
            phase: 'alpha',
            processor: 'widgets',
            collection: 'widgets',
            id: `${partition}_${i}`,
            unit: String(i),
          })),
        ),
    };
    const report = await checkCompleteness(
      { definition: testDefinition, rules, store: w.store, clock: w.clock },
      { from: '2024-04-21', to: '2024-04-21', enqueue: true },
    );
    expect(report.enqueued).toEqual([]);
    expect(report.deferred).toEqual([
      {
        partition: '2024-04-21',
        phase: 'alpha',
        processor: 'widgets',
        runId: rid('2024-04-21', 'm1'),
        reason: `run ${rid('2024-04-21', 'm1')} is still RUNNING (its gate decides)`,
      },
    ]);
    expect(w.store.docs(COLLECTIONS.queue)).toEqual([]);
    await w.pump();
    expect(await w.store.get(COLLECTIONS.runs, rid('2024-04-21', 'm1'))).toMatchObject({ status: 'SUCCESS' });
  });
});

describe('the reconcile tick and control-dlq', () => {
  it('alerts on what control-dlq holds, and logs the ALERT line itself when the notifier cannot record it (Firestore down)', async () => {
    const w = world();
    const held = {
      subscription: 'control-dlq-sub',
      count: 1,
      atLeast: false,
      oldest: { messageId: '9', publishTime: '2026-03-01T11:00:00.000Z', sourceSubscription: null, bytes: 3 },
    };
    const alerts: Alert[] = [];
    const deps = {
      definition: testDefinition,
      store: w.store,
      publisher: w.publisher,
      clock: w.clock,
      logger: w.logger,
      controlDlq: () => Promise.resolve(held),
    };
    expect(
      (await reconcile({ ...deps, notifier: (a) => Promise.resolve(void alerts.push(a)) })).controlDlq,
    ).toEqual(held);
    expect(alerts).toEqual([
      expect.objectContaining({
        kind: 'control_dlq',
        dedupKey: 'control_dlq',
        message: expect.stringMatching(
          /^control-dlq-sub holds 1 message\(s\), the oldest published 2026-03-01T11:00:00.000Z/,
        ) as unknown,
      }),
    ]);
    await reconcile({ ...deps, notifier: () => Promise.reject(new Error('14 UNAVAILABLE: firestore')) });
    expect(
      w.logger.lines.filter(
        (l) => l.level === 'error' && l.message.startsWith('ALERT control_dlq: control-dlq-sub holds 1'),
      ),
    ).toHaveLength(1);
    const empty = await reconcile({
      ...deps,
      controlDlq: () => Promise.resolve({ ...held, count: 0, oldest: null }),
      notifier: (a) => Promise.resolve(void alerts.push(a)),
    });
    expect(empty.controlDlq?.count).toBe(0);
    expect(alerts).toHaveLength(1);
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

describe('outbox', () => {
  async function outboxWith(store: MemoryStore) {
    await store.transaction((tx) => {
      addToOutbox(tx, {
        id: 'd1--p',
        decisionId: 'd1',
        runId: 'r',
        topic: 'phase-beta',
        message: { requestId: 'r--beta--p' },
        attributes: {},
        status: 'pending',
        createdAt: '2026-01-01T00:00:00.000Z',
        sentAt: null,
      });
      return Promise.resolve();
    });
  }
  const now = () => new Date('2026-01-01T00:00:01.000Z');

  it('is sent once when duplicate messages flush it at the same time', async () => {
    const store = new MemoryStore();
    const publisher = new MemoryPublisher();
    await outboxWith(store);
    const sent = await Promise.all(
      ['m1', 'm2', 'm3'].map((sender) => flushOutbox(store, publisher, 'd1', now, sender)),
    );
    expect(sent.reduce((a, b) => a + b, 0)).toBe(1);
    expect(publisher.on('phase-beta')).toHaveLength(1);
    expect(await store.get(COLLECTIONS.outbox, 'd1--p')).toMatchObject({ status: 'sent' });
  });

  it('is sent again by a redelivery of the message whose publish failed, not by another message', async () => {
    const store = new MemoryStore();
    const publisher = new MemoryPublisher();
    await outboxWith(store);
    const failing = { publish: () => Promise.reject(new Error('14 UNAVAILABLE')) };
    await expect(flushOutbox(store, failing, 'd1', now, 'm1')).rejects.toThrow(/UNAVAILABLE/);
    expect(await flushOutbox(store, publisher, 'd1', now, 'm2')).toBe(0);
    expect(await flushOutbox(store, publisher, 'd1', now, 'm1')).toBe(1);
    expect(publisher.on('phase-beta')).toHaveLength(1);
  });
});
