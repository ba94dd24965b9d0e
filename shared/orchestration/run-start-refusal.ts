import type { LoadedDefinition } from '../definition/load.ts';
import type { Transaction } from '../ports/store.ts';
import { phaseDecisionId, readRunPhase, type RunDoc } from './run-doc.ts';

export interface StartScope {
  partition: string;
  startPhase: string;
  processors: readonly string[];
}

/**
 * Why a run that starts later than the first phase, or with some processors only, must not start
 * (null when it may). It reads what the phases before it and the processors left out wrote: they
 * must have passed their gates in the partition's current run `holder` (or that run itself started
 * later, having been held to this).
 */
export async function runStartRefusal(
  tx: Transaction,
  definition: LoadedDefinition,
  scope: StartScope,
  holder: RunDoc | undefined,
): Promise<string | null> {
  const { partition, startPhase } = scope;
  const before = definition.phases
    .slice(
      0,
      definition.phases.findIndex((p) => p.id === startPhase),
    )
    .map((p) => p.id);
  const unpassed = before.filter(
    (p) => !holder || (holder.phases[p] !== undefined && holder.phases[p].status !== 'SUCCEEDED'),
  );
  if (unpassed.length > 0)
    return holder
      ? `phase(s) ${unpassed.join(', ')} of ${partition} did not pass their gate in its current run ${holder.runId} ` +
          `(${holder.status}): run the partition from ${unpassed[0]} first`
      : `${partition} has never run: a run from phase ${startPhase} would read phases ${before.join(', ')} ` +
          `that never ran; run the partition whole first`;
  const others = definition
    .phase(startPhase)
    .processors.map((p) => p.name)
    .filter((p) => !scope.processors.includes(p));
  if (others.length === 0) return null;
  const missing = await missingOthers(tx, others, startPhase, holder);
  if (missing.length === 0) return null;
  return holder
    ? `${missing.join(', ')} of phase ${startPhase} did not pass its gate in the current run ` +
        `${holder.runId} (${holder.status}): include ${missing.length > 1 ? 'them' : 'it'} in processors, ` +
        `or run the phase whole`
    : `${partition} has never run: running only ${scope.processors.join(', ')} of ${startPhase} would ` +
        `leave ${others.join(', ')} without data; run the partition whole first`;
}

/** The processors left out of a partial run whose outputs the current run does not vouch for. */
async function missingOthers(
  tx: Transaction,
  others: readonly string[],
  startPhase: string,
  holder: RunDoc | undefined,
): Promise<readonly string[]> {
  if (!holder) return others;
  const state = holder.phases[startPhase];
  if (!state || state.status === 'SUCCEEDED') return [];
  if (state.status !== 'GATE_FAILED') return others;
  const decided = await readRunPhase(tx, phaseDecisionId(holder.runId, startPhase));
  const short = new Set(
    ((decided?.gate?.shortfalls as { processors?: string[] }[] | undefined) ?? []).flatMap(
      (f) => f.processors ?? [],
    ),
  );
  return others.filter((p) => short.has(p));
}
