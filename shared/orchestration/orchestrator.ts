import type { LoadedDefinition } from '../definition/load.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { Publisher } from '../ports/publisher.ts';
import type { DocumentStore } from '../ports/store.ts';
import type { FaultInjector } from '../runtime/faults.ts';
import type { PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import type { GateExpectations } from './gate.ts';
import type { Notifier } from '../recovery/notifier.ts';
import { handleProcessorOutcome } from './record-outcome.ts';
import { handleRunRequest } from './start-run.ts';


export interface OrchestratorDeps {
  definition: LoadedDefinition;
  expectations: GateExpectations;
  store: DocumentStore;
  publisher: Publisher;
  clock: Clock;
  logger: Logger;
  faults?: FaultInjector;
  notifier?: Notifier;
}

/** The phase-to-phase function: it trusts data, not messages. Two entry points, one per topic. */
export function createOrchestrator(deps: OrchestratorDeps) {
  return {
    onRunRequest: (event: PubSubCloudEvent) => handleRunRequest(deps, event),
    onProcessorOutcome: (event: PubSubCloudEvent) => handleProcessorOutcome(deps, event),
  };
}
