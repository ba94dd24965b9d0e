import { createHttpClient } from '../../../shared/lib/http-client.ts';
import { TOPICS } from '../../../shared/messages/messages.ts';
import { reconcile } from '../../../shared/operations/reconciler.ts';
import { createOrchestrator } from '../../../shared/orchestration/orchestrator.ts';
import { runAutoRetryTick } from '../../../shared/recovery/auto-retry.ts';
import { createDlqRecorder } from '../../../shared/recovery/dlq-recorder.ts';
import type { QueueEntry } from '../../../shared/recovery/queue-entry.ts';
import { isOpen } from '../../../shared/recovery/queue-policy.ts';
import { COLLECTIONS } from '../../../shared/runtime/collections.ts';
import { createPhaseHandler } from '../../../shared/runtime/phase-handler.ts';
import { MemoryPublisher } from '../../../shared/testing/memory-publisher.ts';
import { MemoryStore } from '../../../shared/testing/memory-store.ts';
import { testDefinition } from '../../fixtures/test-pipeline/definition.ts';
import { testExpectations } from '../../fixtures/test-pipeline/expectations.ts';
import { createApply } from './apply.ts';
import { createBus } from './bus.ts';
import { crashingStore, job, quiet } from './crashes.ts';
import { createSources } from './sources.ts';

export type World = ReturnType<typeof createWorld>;

/** The in-memory world: every function of the pipeline over one store, with a bus the test drives. */
export function createWorld() {
  const memory = new MemoryStore();
  // Every reading moves the clock 1 ms: "before" and "after" between two writes are always told apart.
  let nowMs = Date.parse('2026-03-01T06:00:00.000Z');
  const clock = { now: () => new Date((nowMs += 1)), advance: (ms: number) => void (nowMs += ms) };
  const publisher = new MemoryPublisher();
  const { store, crashAfter } = crashingStore(memory);
  const { faults, processors, setHold } = createSources();
  const common = { definition: testDefinition, store, publisher, clock, logger: quiet };
  const orchestrator = createOrchestrator({ ...common, expectations: testExpectations });
  const phases = Object.fromEntries(
    testDefinition.phases.map((p) => [
      p.id,
      // One delivery at a time on a hand-moved clock: a held lease lapses only by the clock (no real-time wait).
      createPhaseHandler({
        ...common,
        phaseId: p.id,
        processors,
        http: createHttpClient({ retries: 0 }),
        leaseWaitMs: 0,
      }),
    ]),
  );
  const recorder = createDlqRecorder({ definition: testDefinition, store, clock, logger: quiet });
  const handlerOf = (topic: string) =>
    topic === TOPICS.runRequests
      ? orchestrator.onRunRequest
      : topic === TOPICS.processorCompletions
        ? orchestrator.onProcessorOutcome
        : phases[topic.slice('phase-'.length)]!;
  const bus = createBus({ publisher, clock, handlerOf, recorder });
  const { inFlight, controlDlq, requestedDates, sync, push, settle } = bus;
  const manualRetries = new Map<string, number>();
  const openEntries = async () =>
    (await memory.query(COLLECTIONS.queue, {}))
      .map((d) => d.data as unknown as QueueEntry)
      .filter((e) => isOpen(e.status))
      .sort((a, b) => a.requestId.localeCompare(b.requestId));
  const apply = createApply({ common, bus, faults, setHold, crashAfter, openEntries, manualRetries });

  /** Everything delivered, then ticks until nothing is due: what the world looks like once it is quiet. */
  async function quiesce(): Promise<void> {
    for (let round = 0; round < 60; round += 1) {
      for (let guard = 0; guard < 400 && inFlight.length > 0; guard += 1) {
        const m = inFlight[0]!;
        await settle(m, await push(m));
        sync();
      }
      const before = publisher.published.length;
      clock.advance(15 * 60_000);
      await job(() => runAutoRetryTick(common));
      await job(() => reconcile(common));
      sync();
      const unsent = (await memory.query(COLLECTIONS.outbox, {})).some((d) => d.data.status === 'pending');
      if (
        inFlight.length === 0 &&
        !unsent &&
        publisher.published.length === before &&
        (await openEntries()).every((e) => e.nextRetryAt === null)
      ) {
        // Quiet: what is still open waits for a person (failed_permanent) or for a gate that waits for one (awaitingGate).
        return;
      }
    }
    throw new Error(
      `the world did not go quiet in 60 rounds of 15 minutes: ${inFlight.length} message(s) in flight, ` +
        `${(await openEntries()).length} open entries`,
    );
  }

  return { memory, clock, faults, apply, quiesce, controlDlq, requestedDates, manualRetries };
}
