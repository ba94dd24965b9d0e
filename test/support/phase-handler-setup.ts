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
  });
  return { store, publisher, clock, logger, handler };
}

/** How many times the work of a processor ran: each run leaves one marker in `executions`. */
export const executions = (store: MemoryStore) => store.docs('executions').length;
