import { MemoryPublisher } from '../../shared/testing/memory-publisher.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { createHttpClient } from '../../shared/lib/http-client.ts';
import { createOrchestrator } from '../../shared/orchestration/orchestrator.ts';
import { withCrashPoints } from '../../shared/adapters/crash-points.ts';
import { runIdFor } from '../../shared/orchestration/start-run.ts';
import { runAutoRetryTick } from '../../shared/recovery/auto-retry.ts';
import type { Notifier } from '../../shared/recovery/notifier.ts';
import type { GateExpectations } from '../../shared/orchestration/gate.ts';
import { createFaultInjector, type CrashPoint } from '../../shared/runtime/faults.ts';
import { createPhaseHandler } from '../../shared/runtime/phase-handler.ts';
import { phaseTopic, TOPICS } from '../../shared/messages/messages.ts';
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { testExpectations } from '../fixtures/test-pipeline/expectations.ts';
import { testProcessors } from '../fixtures/test-pipeline/processors.ts';
import { manualClock, pubsubEvent } from './factories.ts';

/** The run id of a run request for `partition` delivered as message `messageId`. */
export const rid = (partition: string, messageId: string) => runIdFor(partition, messageId, undefined);

export class Crash extends Error {}

/** The orchestrator and both phase handlers over one in-memory store, with a hand-driven bus. */
export function world(
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
    withCrashPoints(faults),
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
        // Deliveries one at a time on a manual clock: a held lease lapses only by the clock.
        leaseWaitMs: 0,
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
        const event = pubsubEvent(m.message, { messageId: m.messageId, attributes: m.attributes });
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
      const event = pubsubEvent(m.message, { messageId: m.messageId, attributes: m.attributes });
      if (m.topic === TOPICS.runRequests) await orchestrator.onRunRequest(event);
      else if (m.topic === TOPICS.processorCompletions) await orchestrator.onProcessorOutcome(event);
      else if (m.topic === TOPICS.autoRetryTicks)
        await runAutoRetryTick({ definition, store, publisher, clock, logger });
      else if (m.topic.startsWith('phase-')) await phases[m.topic.slice('phase-'.length)]!(event);
    }
  }
  const delivered = new Set<unknown>();
  /** Delivers, in order, what `topic` received that `deliver` has not delivered yet (a test drives one topic at a time; not mixed with `pump`). */
  async function deliver(topic: string): Promise<void> {
    for (const m of publisher.published.filter((p) => p.topic === topic && !delivered.has(p))) {
      delivered.add(m);
      const event = pubsubEvent(m.message, { messageId: m.messageId, attributes: m.attributes });
      if (topic === TOPICS.processorCompletions) await orchestrator.onProcessorOutcome(event);
      else await phases[topic.slice('phase-'.length)]!(event);
    }
  }
  /** A message `deliver` never delivers: lost on the way. */
  const lose = (message: unknown) => void delivered.add(message);
  return { store, publisher, clock, logger, orchestrator, phases, pump, pumpAll, deliver, lose };
}

/** The processor requests published to `phase` so far. */
export const requestsOn = (w: ReturnType<typeof world>, phase: string) =>
  w.publisher.on(phaseTopic(phase)) as { requestId: string }[];
