import type { LoadedDefinition } from '../definition/load.ts';
import type { Clock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import type { Publisher } from '../ports/publisher.ts';
import type { DocumentStore } from '../ports/store.ts';
import type { Notifier } from '../recovery/notifier.ts';
import type { PubSubCloudEvent } from '../runtime/pubsub-event.ts';
import { decidePhase } from './decide-phase.ts';
import { decideRunStart } from './decide-run-start.ts';
import { followDependencies } from './follow-dependencies.ts';
import type { GateExpectations } from './gate.ts';
import { recordOutcome } from './record-outcome.ts';
import { startRun } from './start-run.ts';

export interface OrchestratorDeps {
  definition: LoadedDefinition;
  expectations: GateExpectations;
  store: DocumentStore;
  publisher: Publisher;
  clock: Clock;
  logger: Logger;
  notifier?: Notifier;
}

/**
 * The two decisions the orchestrator commits before it sends what they decided: a seam where the
 * composition root may wrap them (a crash point between the commit and the send, say:
 * `withCrashPoints` in adapters/crash-points.ts). Each must stay a function of the same type.
 */
export interface OrchestrationSteps {
  decideRunStart: typeof decideRunStart;
  decidePhase: typeof decidePhase;
}

export const ORCHESTRATION_STEPS: OrchestrationSteps = { decideRunStart, decidePhase };

/** The phase-to-phase function: it trusts data, not messages. Two entry points, one per topic. */
export function createOrchestrator(deps: OrchestratorDeps, steps: OrchestrationSteps = ORCHESTRATION_STEPS) {
  return {
    onRunRequest: (event: PubSubCloudEvent) => startRun(deps, steps, event),
    onProcessorOutcome: async (event: PubSubCloudEvent) => {
      const recorded = await recordOutcome(deps, steps, event);
      if (recorded && deps.definition.dependencies.mode === 'trigger')
        await followDependencies(deps, recorded);
    },
  };
}
