import { describe, expect, it } from 'vitest';
import { loadDefinition } from '../../shared/definition/load.ts';
import { TOPICS, type ProcessorCompleted } from '../../shared/messages/messages.ts';
import { decidePhase } from '../../shared/orchestration/decide-phase.ts';
import type { GateExpectations } from '../../shared/orchestration/gate.ts';
import { decideRunStart } from '../../shared/orchestration/decide-run-start.ts';
import { createOrchestrator } from '../../shared/orchestration/orchestrator.ts';
import { phaseDecisionId, readRunPhase } from '../../shared/orchestration/run-doc.ts';
import type { DocumentStore } from '../../shared/ports/store.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { testDefinition, testDefinitionInput } from '../fixtures/test-pipeline/definition.ts';
import { testExpectations } from '../fixtures/test-pipeline/expectations.ts';
import { makeQueueEntry, pubsubEvent } from '../support/factories.ts';
import { requestsOn, rid, world } from '../support/orchestrator-world.ts';

type World = ReturnType<typeof world>;
const PARTITION = '2024-04-21';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a run (message `m1`), runs phase alpha's processors, and returns their completions, undelivered. */
async function alphaCompletions(w: World, messageId = 'm1') {
  const before = w.publisher.published.length;
  await w.orchestrator.onRunRequest(
    pubsubEvent({ partition: PARTITION, triggerSource: 'manual' }, { messageId }),
  );
  for (const m of w.publisher.published.slice(before).filter((p) => p.topic === 'phase-alpha'))
    await w.phases.alpha!(pubsubEvent(m.message, { messageId: m.messageId }));
  return w.publisher.published
    .slice(before)
    .filter((p) => p.topic === TOPICS.processorCompletions)
    .map((m) => m.message as ProcessorCompleted);
}

const completedOn = async (w: World, runId: string, phase: string) =>
  Object.keys((await readRunPhase(w.store, phaseDecisionId(runId, phase)))?.completed ?? {});

/** A second orchestrator over the world's pipeline, with its own store in front and its decisions counted. */
function countingOrchestrator(w: World, store: DocumentStore, definition = testDefinition) {
  let decisions = 0;
  const orchestrator = createOrchestrator(
    {
      definition,
      expectations: testExpectations,
      store,
      publisher: w.publisher,
      clock: w.clock,
      logger: w.logger,
    },
    {
      decideRunStart,
      decidePhase: (...args: Parameters<typeof decidePhase>) => ((decisions += 1), decidePhase(...args)),
    },
  );
  return { orchestrator, decisions: () => decisions };
}

describe('fan-in on the phase document', () => {
  it('counts a completion delivered many times once: the phase waits for its other processors', async () => {
    const w = world();
    const [first, second] = await alphaCompletions(w);
    for (const copy of ['c1', 'c2', 'c3'])
      await w.orchestrator.onProcessorOutcome(pubsubEvent(first, { messageId: copy }));
    expect(await completedOn(w, first!.runId, 'alpha')).toEqual([first!.processor]);
    expect(requestsOn(w, 'beta')).toHaveLength(0);
    expect(w.store.docs(COLLECTIONS.decisionClaims)).toHaveLength(0);
    await w.orchestrator.onProcessorOutcome(pubsubEvent(second, { messageId: 'c4' }));
    expect((await completedOn(w, first!.runId, 'alpha')).sort()).toEqual(['gadgets', 'widgets']);
    expect(requestsOn(w, 'beta')).toHaveLength(1);
  });

  // Delays (ms) of each delivery's write onto the phase document, by processor, and of the reads of
  // that document, in the order they are made: every way the two last completions can interleave.
  const interleavings = [
    { name: 'both written, then both read', write: { widgets: 0, gadgets: 0 }, reads: [20, 20] },
    { name: 'one read before the other is written', write: { widgets: 0, gadgets: 30 }, reads: [0, 0] },
    { name: 'the first written last', write: { widgets: 30, gadgets: 0 }, reads: [0, 0] },
  ];
  for (const { name, write, reads } of interleavings) {
    it(`the last of two concurrent completions decides exactly once (${name})`, async () => {
      const w = world();
      const completions = await alphaCompletions(w);
      let read = 0;
      const delayed: DocumentStore = Object.assign(Object.create(w.store) as DocumentStore, {
        update: async (collection: string, id: string, fields: Record<string, unknown>) => {
          const processor = Object.keys(fields)[0]!.split('.')[1] as keyof typeof write;
          await sleep(write[processor]);
          return w.store.update(collection, id, fields);
        },
        get: async (collection: string, id: string) => {
          if (collection === COLLECTIONS.runPhases) await sleep(reads[read++] ?? 0);
          return w.store.get(collection, id);
        },
      });
      const { orchestrator, decisions } = countingOrchestrator(w, delayed);
      await Promise.all(
        completions.map((c, i) => orchestrator.onProcessorOutcome(pubsubEvent(c, { messageId: `d${i}` }))),
      );
      expect(decisions()).toBe(1);
      expect(requestsOn(w, 'beta')).toHaveLength(1);
    });
  }

  it('a delivery that loses the claim acks, whatever the gate it ran meanwhile met', async () => {
    const broken: GateExpectations = {
      table: {
        ...testExpectations.table,
        alpha: {
          ...testExpectations.table.alpha,
          widgets: {
            partition: () => {
              throw new Error('the schedule is unreadable');
            },
          },
        },
      },
    };
    const w = world({ expectations: broken });
    const [first, last] = await alphaCompletions(w);
    const decisionId = phaseDecisionId(first!.runId, 'alpha');
    await w.store.set(COLLECTIONS.decisionClaims, decisionId, {
      owner: 'another',
      at: w.clock.now().toISOString(),
    });
    await w.orchestrator.onProcessorOutcome(pubsubEvent(first));
    await expect(w.orchestrator.onProcessorOutcome(pubsubEvent(last))).resolves.toBeUndefined();
    // The claim's owner decides, and meets the error: redelivered, as before.
    await expect(
      w.orchestrator.onProcessorOutcome(pubsubEvent({ ...last!, requestId: 'another' })),
    ).rejects.toThrow(/schedule is unreadable/);
  });

  it('a completion of a superseded run counts for no run: the old run decides nothing, the new one its own', async () => {
    const w = world();
    const old = await alphaCompletions(w);
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: PARTITION, triggerSource: 'manual', force: true }, { messageId: 'm2' }),
    );
    const current = rid(PARTITION, 'm2');
    for (const c of old) await w.orchestrator.onProcessorOutcome(pubsubEvent(c));
    expect(await completedOn(w, current, 'alpha')).toEqual([]);
    expect(
      await w.store.get(COLLECTIONS.runPhases, phaseDecisionId(rid(PARTITION, 'm1'), 'alpha')),
    ).toMatchObject({
      status: 'running',
    });
    expect(requestsOn(w, 'beta')).toHaveLength(0);
    await w.pump();
    expect(requestsOn(w, 'beta').map((r) => r.requestId)).toEqual([`${current}--beta--summary`]);
    expect(await w.store.get(COLLECTIONS.runs, current)).toMatchObject({ status: 'SUCCESS' });
  });

  it('a completion no open phase waits for writes no phase document, and closes its entry', async () => {
    const w = world();
    const [completion] = await alphaCompletions(w);
    const stray = { ...completion!, runId: 'never-started', requestId: 'never-started--alpha--widgets' };
    await w.store.set(COLLECTIONS.queue, stray.requestId, makeQueueEntry({ requestId: stray.requestId }));
    await w.orchestrator.onProcessorOutcome(pubsubEvent(stray));
    expect(
      await w.store.get(COLLECTIONS.runPhases, phaseDecisionId('never-started', 'alpha')),
    ).toBeUndefined();
    expect(await w.store.get(COLLECTIONS.queue, stray.requestId)).toMatchObject({ status: 'succeeded' });
  });

  it('queries no completions and reads the run once per completion, even with partition dependencies', async () => {
    const trigger = loadDefinition({
      ...testDefinitionInput,
      dependencies: { mode: 'trigger', concurrency: 1 },
    });
    const w = world({ definition: trigger });
    const [first, last] = await alphaCompletions(w);
    const calls: string[] = [];
    const counted: DocumentStore = Object.assign(Object.create(w.store) as DocumentStore, {
      get: (c: string, id: string) => (calls.push(`get ${c}`), w.store.get(c, id)),
      query: (c: string, o: object) => (calls.push(`query ${c}`), w.store.query(c, o)),
      countWhere: (c: string, f: []) => (calls.push(`count ${c}`), w.store.countWhere(c, f)),
    });
    const { orchestrator } = countingOrchestrator(w, counted, trigger);
    await orchestrator.onProcessorOutcome(pubsubEvent(first));
    // Not the last: its phase document says so; nothing is queried.
    expect(calls.filter((c) => !c.startsWith('get ')).sort()).toEqual([]);
    expect(calls.filter((c) => c === `get ${COLLECTIONS.runs}`)).toHaveLength(1);
    calls.length = 0;
    await orchestrator.onProcessorOutcome(pubsubEvent(last));
    expect(requestsOn(w, 'beta')).toHaveLength(1);
    // The last: the gate's counts of the phase's outputs and the phase's queue entries; its own
    // triggers are sent as decided, not looked up in the outbox.
    expect([...new Set(calls.filter((c) => !c.startsWith('get ')))].sort()).toEqual([
      'count executions',
      'count gadgets',
      'count widgets',
      `query ${COLLECTIONS.queue}`,
    ]);
    // The fan-in's read, and the decision transaction's (the memory store's transaction reads through `get`).
    expect(calls.filter((c) => c === `get ${COLLECTIONS.runs}`)).toHaveLength(2);
  });
});
