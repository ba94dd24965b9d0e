import { ORCHESTRATION_STEPS, type OrchestrationSteps } from '../orchestration/orchestrator.ts';
import { crashAfter } from '../runtime/fault-decorators.ts';
import type { FaultInjector } from '../runtime/faults.ts';

/**
 * The orchestrator's steps with their crash points: each between a decision that has something to
 * send and the send (a run started, or found started by a redelivery; a phase that opened the
 * next), the window the outbox must cover. Unchanged when faults are off.
 */
export function withCrashPoints(
  injector: FaultInjector | undefined,
  steps: OrchestrationSteps = ORCHESTRATION_STEPS,
): OrchestrationSteps {
  return {
    decideRunStart: crashAfter(
      steps.decideRunStart,
      'after-run-decision',
      injector,
      (outcome) => outcome.state === 'started' || outcome.state === 'exists',
    ),
    decidePhase: crashAfter(steps.decidePhase, 'after-trigger-decision', injector, (d) => d.next !== null),
  };
}
