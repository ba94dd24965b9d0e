import type { ProcessorCompleted } from '../messages/messages.ts';
import type { DocumentStore } from '../ports/store.ts';
import { COLLECTIONS } from '../runtime/collections.ts';
import { phaseDecisionId, readRunPhaseOrPassOver, type RunPhaseDoc } from './run-doc.ts';

/**
 * The fan-in on the phase's own document: `run_phases/{runId}_{phase}.completed` maps each processor
 * whose completion was recorded to when it completed. One update a completion (a field of its own,
 * so duplicates count once and concurrent completions never abort each other: no transaction, which
 * the emulator serialises for seconds under contention), and the document read alongside it. When
 * that read shows every other processor complete, this completion is the last (its own update has
 * committed too). When it shows others missing, the document is read once more after the update: of
 * the completions racing to be last, the one whose update committed last then reads every other one,
 * so at least one of them sees the phase complete, and the decision claim lets exactly one decide.
 */

/** Records the completion on its phase's document; false when no phase of the run waits for it (none is open). */
export function recordOnPhase(store: DocumentStore, completion: ProcessorCompleted): Promise<boolean> {
  return store.update(COLLECTIONS.runPhases, phaseDecisionId(completion.runId, completion.phase), {
    [`completed.${completion.processor}`]: completion.completedAt,
  });
}

/** The expected processors of the phase whose completion is not recorded on it yet. */
export function waitingFor(phaseDoc: RunPhaseDoc): string[] {
  const completed = phaseDoc.completed ?? {};
  return phaseDoc.expected.filter((p) => !Object.hasOwn(completed, p));
}

/** The expected processors of a phase that completed (none when the phase is not open): for progress and stalls. */
export async function completedProcessors(
  store: Pick<DocumentStore, 'get'>,
  runId: string,
  phase: string,
): Promise<string[]> {
  const phaseDoc = await readRunPhaseOrPassOver(store, phaseDecisionId(runId, phase));
  if (!phaseDoc) return [];
  const waiting = new Set(waitingFor(phaseDoc));
  return phaseDoc.expected.filter((p) => !waiting.has(p));
}
