import type { PhaseSpec } from '../definition/schema.ts';
import type { ReadStore } from '../runtime/processor.ts';

/** What a date needs in one output, derived from the data (the schedule), not a constant. */
export interface GateExpectation {
  collection: string;
  dateField: string;
  min: number;
}

/** The pipeline's rule for what each phase's outputs must hold for a date. */
export type GateExpectations = (input: {
  phase: PhaseSpec;
  gameDate: string;
  processors: readonly string[];
  store: ReadStore;
}) => Promise<GateExpectation[]>;

export interface GateCheck {
  collection: string;
  dateField: string;
  expected: number;
  /** Documents for the date written by this run. */
  found: number;
  processors: string[];
  /**
   * The pipeline's expectations name no minimum for this output: the gate fails closed (a
   * forgotten expectation is a definition bug, not "nothing expected"; say `min: 0` for that).
   */
  noExpectation?: true;
}

export interface GateResult {
  passed: boolean;
  checks: GateCheck[];
  shortfalls: GateCheck[];
}

/**
 * Checks the real data of a phase before the next phase is triggered: for every output of
 * the processors this run ran, the documents for the date written by this run must reach
 * what the date needs. Data of an earlier run does not count: stale is missing.
 */
export async function runGate(input: {
  store: ReadStore;
  phase: PhaseSpec;
  processors: readonly string[];
  runId: string;
  gameDate: string;
  expectations: GateExpectations;
}): Promise<GateResult> {
  const expectations = await input.expectations({
    phase: input.phase,
    gameDate: input.gameDate,
    processors: input.processors,
    store: input.store,
  });
  const outputs = new Map<string, { collection: string; dateField: string; processors: string[] }>();
  for (const spec of input.phase.processors.filter((p) => input.processors.includes(p.name))) {
    for (const output of spec.outputs) {
      const key = `${output.collection}/${output.dateField}`;
      const entry = outputs.get(key) ?? { collection: output.collection, dateField: output.dateField, processors: [] };
      entry.processors.push(spec.name);
      outputs.set(key, entry);
    }
  }
  const checks: GateCheck[] = await Promise.all(
    [...outputs.values()].map(async (output) => {
      const expectation = expectations.find(
        (e) => e.collection === output.collection && e.dateField === output.dateField,
      );
      const found = await input.store.countWhere(output.collection, [
        { field: output.dateField, op: '==', value: input.gameDate },
        { field: 'runId', op: '==', value: input.runId },
      ]);
      return expectation
        ? { ...output, expected: expectation.min, found }
        : { ...output, expected: 0, found, noExpectation: true as const };
    }),
  );
  const shortfalls = checks.filter((c) => c.noExpectation || c.found < c.expected);
  return { passed: shortfalls.length === 0, checks, shortfalls };
}

export function describeShortfalls(shortfalls: readonly GateCheck[]): string {
  return shortfalls.map(describeShortfall).join('; ');
}

function describeShortfall(s: GateCheck): string {
  if (!s.noExpectation) return `${s.collection} (${s.dateField}) expected ${s.expected}, found ${s.found}`;
  return (
    `${s.collection} (${s.dateField}): the pipeline's expectations name no minimum for this output of ${s.processors.join(', ')}` +
    ` (found ${s.found}); the gate fails closed: add an expectation (min: 0 if nothing is expected)`
  );
}
