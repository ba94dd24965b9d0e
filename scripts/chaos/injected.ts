// What was injected, as the system saw it: the failures its events record, and the source
// faults its source API used up.
import type { FaultRule } from '../source-api/faults.ts';
import type { ChaosContext } from './context.ts';
import type { FaultPlan, SourceFault } from './fault-plan.ts';
import type { FinalState } from './final-state.ts';

export interface Injected {
  /** The processor_failed events of an injected write failure. */
  writeFailed: FinalState['failures'];
  /** How many requests each source fault hit. */
  source: Map<SourceFault, number>;
}

export function countInjected(
  ctx: ChaosContext,
  plan: FaultPlan,
  state: FinalState,
  sourceLeft: readonly FaultRule[],
): Injected {
  const { count } = ctx.tally;
  const writeFailed = state.failures.filter((e) => e.message?.includes('injected write failure'));
  count('write failure', 'injected', writeFailed.length);
  count('slow handler', 'injected', plan.slowHandlers.length);
  count('duplicate delivery', 'injected', plan.duplicating.length);
  const source = new Map<SourceFault, number>();
  for (const f of plan.sourceFaults) {
    const remaining =
      sourceLeft.find(
        (l) =>
          l.endpoint === f.endpoint &&
          l.kind === f.kind &&
          JSON.stringify(l.dates) === JSON.stringify(f.dates),
      )?.times ?? 0;
    // A fault without `times` lasts: it was injected if its date ran.
    const injected = f.times === undefined ? 1 : f.times - remaining;
    source.set(f, injected);
    count(f.label, 'injected', injected);
  }
  return { writeFailed, source };
}
