import type { DocData } from '../../shared/ports/store.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { MemoryPublisher } from '../../shared/testing/memory-publisher.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { createHttpClient } from '../../shared/lib/http-client.ts';
import { withInjectedFaults } from '../../shared/runtime/fault-decorators.ts';
import { createFaultInjector } from '../../shared/runtime/faults.ts';
import { createPhaseHandler } from '../../shared/runtime/phase-handler.ts';
import type { Processor } from '../../shared/runtime/processor.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { testProcessors } from '../fixtures/test-pipeline/processors.ts';
import { manualClock } from './factories.ts';

/** A handler of phase alpha (unless `phaseId`) over in-memory stores, the test pipeline's processors amended by `processors`. */
export function setup(
  options: {
    processors?: Record<string, Processor>;
    failWrites?: number | 'always';
    phaseId?: string;
    leaseMs?: number;
    leaseWaitMs?: number;
  } = {},
) {
  const store = new MemoryStore();
  const publisher = new MemoryPublisher();
  const clock = manualClock();
  const logger = createMemoryLogger();
  const faults =
    options.failWrites === undefined
      ? undefined
      : createFaultInjector({ writeFailures: [{ processor: 'widgets', times: options.failWrites }] });
  const handler = createPhaseHandler({
    definition: testDefinition,
    phaseId: options.phaseId ?? 'alpha',
    processors: withInjectedFaults({ ...testProcessors, ...options.processors }, faults),
    store,
    publisher,
    clock,
    logger,
    http: createHttpClient({ retries: 0 }),
    leaseMs: options.leaseMs,
    // A manual clock: no real-time wait for a held lease unless a test asks for one.
    leaseWaitMs: options.leaseWaitMs ?? 0,
  });
  return { store, publisher, clock, logger, handler };
}

/** How many times the work of a processor ran: each run leaves one marker in `executions`. */
export const executions = (store: MemoryStore) => store.docs('executions').length;

const isCompletionRecord = (collection: string, data: DocData) =>
  collection === COLLECTIONS.processorRuns && data.status === 'completed';

/**
 * The commit that carries a completion record fails once, whichever way it is made (the process
 * dies before it lands, Firestore refuses it): what was committed before it stays, nothing of it does.
 */
export function failCompletionCommitOnce(store: MemoryStore): { failed: () => boolean } {
  let failed = false;
  const refuse = () => {
    failed = true;
    return new Error('UNAVAILABLE: the commit of the completion record did not land');
  };
  const transaction = store.transaction.bind(store);
  store.transaction = (fn) =>
    transaction(async (tx) => {
      let carries = false;
      const result = await fn({
        ...tx,
        set: (c, id, d, o) => ((carries ||= isCompletionRecord(c, d)), tx.set(c, id, d, o)),
      });
      if (carries && !failed) throw refuse();
      return result;
    });
  const writeBatch = store.writeBatch.bind(store);
  store.writeBatch = (writes) =>
    !failed && writes.some((w) => isCompletionRecord(w.collection, w.data))
      ? Promise.reject(refuse())
      : writeBatch(writes);
  return { failed: () => failed };
}
