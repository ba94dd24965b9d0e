import type { LoadedDefinition } from '../definition/load.ts';
import type { Clock } from '../ports/clock.ts';
import type { DocumentStore } from '../ports/store.ts';
import type { ReadStore } from '../runtime/processor.ts';
import { enqueueMissing } from './completeness-enqueue.ts';

/**
 * One document a partition must hold, and the processor that writes it. A pipeline types `P` and
 * `R` by its definition (`PhaseIdOf<typeof def>`, `ProcessorNameOf<typeof def>`): a rule naming a
 * phase or processor the definition does not have is then a compile error, not a silent miss.
 */
export interface ExpectedDoc<P extends string = string, R extends string = string> {
  phase: P;
  processor: R;
  collection: string;
  id: string;
  /**
   * The unit of the partition this document belongs to (an item, a record of the source), or null
   * for a partition-level output: completeness counts units whose documents are all present.
   */
  unit: string | null;
}

/** The pipeline's part: which partitions of a range have work, and what each must hold. */
export interface CompletenessRules<P extends string = string, R extends string = string> {
  /** The partitions of `from` … `to` that have work; every partition of the range when absent. */
  partitions?(from: string, to: string): Promise<string[]>;
  /** Null when what tells the partition's work is itself missing (its first phase never ran). */
  expectedDocs(partition: string, store: ReadStore): Promise<ExpectedDoc<P, R>[] | null>;
}

export interface MissingPair {
  partition: string;
  phase: string;
  processor: string;
  missing: { collection: string; id: string; unit: string | null }[];
}

export interface CompletenessReport {
  from: string;
  to: string;
  partitions: number;
  /**
   * Per phase: units (or the partition, for a partition-level output) with every document present,
   * of all units.
   */
  perPhase: Record<string, { complete: number; total: number }>;
  /** Partitions whose work cannot be told (their first phase never ran): nothing of them can be checked. */
  missingPartitions: string[];
  missing: MissingPair[];
  enqueued: string[];
  /**
   * Pairs not enqueued: the partition's current run is still RUNNING (it may yet write them), or never
   * started their phase (an earlier phase failed: that is what to fix first). Check again after.
   */
  deferred: { partition: string; phase: string; processor: string; runId: string; reason: string }[];
}

export interface CompletenessDeps {
  definition: LoadedDefinition;
  rules: CompletenessRules;
  store: DocumentStore;
  clock: Clock;
}

/**
 * Compares what must exist with what exists, unit by unit, over a range of partitions. With
 * `enqueue`, each missing (partition, processor) pair becomes a `pending` queue entry that the
 * auto-retry re-runs (a partition whose first phase never ran becomes a run request).
 */
export async function checkCompleteness(
  deps: CompletenessDeps,
  range: { from: string; to: string; enqueue: boolean },
): Promise<CompletenessReport> {
  // The pipeline's own list of partitions with work, else every key of the range (a scheme that
  // cannot step says so). Either way both ends are keys of the scheme.
  const { scheme } = deps.definition;
  const partitions = deps.rules.partitions
    ? await deps.rules.partitions(scheme.parse(range.from), scheme.parse(range.to))
    : scheme.range(range.from, range.to);
  const perPhase: Record<string, { complete: number; total: number }> = Object.fromEntries(
    deps.definition.phases.map((p) => [p.id, { complete: 0, total: 0 }]),
  );
  const missing: MissingPair[] = [];
  const missingPartitions: string[] = [];
  for (const partition of partitions) {
    const expected = await deps.rules.expectedDocs(partition, deps.store);
    if (!expected) {
      missingPartitions.push(partition);
      for (const phase of deps.definition.phases) perPhase[phase.id]!.total += 1;
      continue;
    }
    const byCollection = new Map<string, ExpectedDoc[]>();
    for (const e of expected) byCollection.set(e.collection, [...(byCollection.get(e.collection) ?? []), e]);
    const absent = new Set<ExpectedDoc>();
    for (const [collection, docs] of byCollection) {
      const found = await deps.store.getMany(
        collection,
        docs.map((d) => d.id),
      );
      docs.forEach((d, i) => found[i] === undefined && absent.add(d));
    }
    for (const phase of deps.definition.phases) {
      const units = new Map<string, boolean>();
      for (const e of expected.filter((x) => x.phase === phase.id))
        units.set(e.unit ?? '*', (units.get(e.unit ?? '*') ?? true) && !absent.has(e));
      perPhase[phase.id]!.total += units.size;
      perPhase[phase.id]!.complete += [...units.values()].filter(Boolean).length;
    }
    const pairs = new Map<string, MissingPair>();
    for (const e of absent) {
      const key = `${e.phase}/${e.processor}`;
      const pair = pairs.get(key) ?? { partition, phase: e.phase, processor: e.processor, missing: [] };
      pair.missing.push({ collection: e.collection, id: e.id, unit: e.unit });
      pairs.set(key, pair);
    }
    missing.push(...pairs.values());
  }
  const { enqueued, deferred } = range.enqueue
    ? await enqueueMissing(deps, missing, missingPartitions)
    : { enqueued: [], deferred: [] };
  return {
    from: range.from,
    to: range.to,
    partitions: partitions.length,
    perPhase,
    missingPartitions,
    missing,
    enqueued,
    deferred,
  };
}
