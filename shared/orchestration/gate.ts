import type { PhaseSpec, PipelineDefinitionInput, PhaseIdOf } from '../definition/schema.ts';
import type { ReadStore } from '../runtime/processor.ts';
import type { StoredDoc } from '../ports/store.ts';

/** What a minimum is computed from: the phase, the partition, the processors this run ran there, the data. */
export interface ExpectationContext {
  phase: PhaseSpec;
  partition: string;
  processors: readonly string[];
  store: ReadStore;
  /** Loads once per gate evaluation what several minimums derive from (a schedule, a manifest). */
  once<T>(key: string, load: () => Promise<T>): Promise<T>;
}

/** A fixed minimum, or one derived from the data (a partition with 4 items needs 4 documents). */
export type Minimum = number | ((ctx: ExpectationContext) => number | Promise<number>);

/**
 * A check of one document an output wrote for the partition in this run: what is wrong with it,
 * or `undefined` when it is right. The gate fails while any document fails its check, so a value
 * that is out of range stops the next phase as a missing document does.
 */
export type DocumentCheck = (
  doc: StoredDoc,
  ctx: ExpectationContext,
) => string | undefined | Promise<string | undefined>;

/** A minimum and a check of every document's values. */
export interface ValueExpectation {
  min: Minimum;
  each: DocumentCheck;
}

/** What one output must hold: a minimum count, or a minimum and a check of each document. */
export type Expectation = Minimum | ValueExpectation;

/** Phase id → collection → partition field → expectation: one entry per declared output. */
export type ExpectationTable = Readonly<
  Record<string, Readonly<Record<string, Readonly<Record<string, Expectation>>>>>
>;

/**
 * What every output of every phase must hold for a partition. Declared as a table, not computed
 * by one function, so `validate` (and the compiler, with `defineExpectations`) can tell an output
 * that has no expectation from one that expects nothing (`0`).
 */
export interface GateExpectations {
  readonly table: ExpectationTable;
}

type PhaseOf<D extends PipelineDefinitionInput, P> = Extract<D['phases'][number], { id: P }>;
type OutputOf<D extends PipelineDefinitionInput, P> = PhaseOf<D, P>['processors'][number]['outputs'][number];
type FieldOf<O> = O extends { partitionField: infer F extends string } ? F : 'partition';
type PhaseTable<D extends PipelineDefinitionInput, P> = {
  [C in OutputOf<D, P>['collection']]: {
    [F in FieldOf<Extract<OutputOf<D, P>, { collection: C }>>]: Expectation;
  };
};
/** The table a definition written `as const` needs: every phase, every output, nothing else. */
export type ExpectationsOf<D extends PipelineDefinitionInput> = { [P in PhaseIdOf<D>]: PhaseTable<D, P> };

/**
 * The expectations of a definition, typed by it: a phase or output left out, or one the
 * definition does not have (a name that drifted), is a compile error.
 */
export function defineExpectations<const D extends PipelineDefinitionInput>(
  _definition: D,
  table: NoInfer<ExpectationsOf<D>>,
): GateExpectations {
  return { table };
}

/** The expectation the table names for one output, or undefined when it names none. */
export function expectationFor(
  expectations: GateExpectations,
  phase: string,
  collection: string,
  field: string,
): Expectation | undefined {
  return Object.hasOwn(expectations.table, phase) &&
    Object.hasOwn(expectations.table[phase]!, collection) &&
    Object.hasOwn(expectations.table[phase]![collection]!, field)
    ? expectations.table[phase]![collection]![field]
    : undefined;
}

export interface GateCheck {
  collection: string;
  partitionField: string;
  expected: number;
  /** Documents for the partition written by this run. */
  found: number;
  processors: string[];
  /** With a value check: how many of the found documents fail it, and the first few of them. */
  invalid?: { count: number; first: { id: string; problem: string }[] };
  /**
   * The pipeline's expectations name no minimum for this output: the gate fails closed (a
   * forgotten expectation is a definition bug, not "nothing expected"; say `0` for that).
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
 * the processors this run ran, the documents for the partition written by this run must reach
 * what the partition needs. Data of an earlier run does not count: stale is missing.
 */
export async function runGate(input: {
  store: ReadStore;
  phase: PhaseSpec;
  processors: readonly string[];
  runId: string;
  partition: string;
  expectations: GateExpectations;
}): Promise<GateResult> {
  const loaded = new Map<string, Promise<unknown>>();
  const ctx: ExpectationContext = {
    phase: input.phase,
    partition: input.partition,
    processors: input.processors,
    store: input.store,
    once: <T>(key: string, load: () => Promise<T>) => {
      if (!loaded.has(key)) loaded.set(key, load());
      return loaded.get(key) as Promise<T>;
    },
  };
  const outputs = new Map<string, { collection: string; partitionField: string; processors: string[] }>();
  for (const spec of input.phase.processors.filter((p) => input.processors.includes(p.name))) {
    for (const output of spec.outputs) {
      const key = `${output.collection}/${output.partitionField}`;
      const entry = outputs.get(key) ?? {
        collection: output.collection,
        partitionField: output.partitionField,
        processors: [],
      };
      entry.processors.push(spec.name);
      outputs.set(key, entry);
    }
  }
  const checks: GateCheck[] = await Promise.all(
    [...outputs.values()].map(async (output) => {
      const expectation = expectationFor(
        input.expectations,
        input.phase.id,
        output.collection,
        output.partitionField,
      );
      const filters = [
        { field: output.partitionField, op: '==' as const, value: input.partition },
        { field: 'runId', op: '==' as const, value: input.runId },
      ];
      if (expectation === undefined) {
        return {
          ...output,
          expected: 0,
          found: await input.store.countWhere(output.collection, filters),
          noExpectation: true as const,
        };
      }
      const minimum = typeof expectation === 'object' ? expectation.min : expectation;
      const [expected, found] = await Promise.all([
        typeof minimum === 'function' ? minimum(ctx) : minimum,
        typeof expectation === 'object'
          ? input.store
              .query(output.collection, { filters })
              .then((docs) => checkEach(docs, expectation.each, ctx))
          : input.store.countWhere(output.collection, filters),
      ]);
      if (!Number.isInteger(expected) || expected < 0)
        throw new TypeError(
          `the expectation of ${input.phase.id} ${output.collection} (${output.partitionField}) for ${input.partition} ` +
            `is ${String(expected)}, not a count`,
        );
      return typeof found === 'number' ? { ...output, expected, found } : { ...output, expected, ...found };
    }),
  );
  const shortfalls = checks.filter(
    (c) => c.noExpectation || c.found < c.expected || (c.invalid?.count ?? 0) > 0,
  );
  return { passed: shortfalls.length === 0, checks, shortfalls };
}

export function describeShortfalls(shortfalls: readonly GateCheck[]): string {
  return shortfalls.map(describeShortfall).join('; ');
}

/** How many invalid documents a gate result names by id (the count is always whole). */
const NAMED_INVALID = 3;

async function checkEach(
  docs: readonly StoredDoc[],
  each: DocumentCheck,
  ctx: ExpectationContext,
): Promise<Pick<GateCheck, 'found' | 'invalid'>> {
  const problems: { id: string; problem: string }[] = [];
  for (const doc of docs) {
    let problem: string | undefined;
    try {
      problem = await each(doc, ctx);
    } catch (error) {
      // A check that cannot read a document has found a document that is wrong, not a gate that is broken.
      problem = `its check threw: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (problem !== undefined) problems.push({ id: doc.id, problem });
  }
  if (problems.length === 0) return { found: docs.length };
  return { found: docs.length, invalid: { count: problems.length, first: problems.slice(0, NAMED_INVALID) } };
}

function describeShortfall(s: GateCheck): string {
  if (s.invalid) {
    const named = s.invalid.first.map((i) => `${i.id}: ${i.problem}`).join('; ');
    const more =
      s.invalid.count > s.invalid.first.length
        ? `; and ${s.invalid.count - s.invalid.first.length} more`
        : '';
    const short = s.found < s.expected ? `expected ${s.expected}, found ${s.found}; ` : '';
    return `${s.collection} (${s.partitionField}) ${short}${s.invalid.count} of ${s.found} fail their check (${named}${more})`;
  }
  if (!s.noExpectation)
    return `${s.collection} (${s.partitionField}) expected ${s.expected}, found ${s.found}`;
  return (
    `${s.collection} (${s.partitionField}): the pipeline's expectations name no minimum for this output of ${s.processors.join(', ')}` +
    ` (found ${s.found}); the gate fails closed: add an expectation (0 if nothing is expected)`
  );
}
