import { PermanentError, TransientError } from '../errors/errors.ts';
import type { ProcessorSpec } from '../definition/schema.ts';
import type { DocumentStore } from '../ports/store.ts';

/**
 * Reads back every document the processor wrote and counts those carrying this run's id.
 * A shortfall is transient (the write did not land: redeliver); writing a collection the
 * definition does not name is permanent (config and code disagree: a person must decide).
 */
export async function verifyWrites(
  store: DocumentStore,
  spec: ProcessorSpec,
  runId: string,
  written: ReadonlyMap<string, ReadonlySet<string>>,
): Promise<Record<string, number>> {
  const declared = new Set(spec.outputs.map((o) => o.collection));
  const undeclared = [...written.keys()].filter((c) => !declared.has(c));
  if (undeclared.length > 0) {
    throw new PermanentError(
      `processor "${spec.name}" wrote ${undeclared.map((c) => `"${c}"`).join(', ')}, which the definition does not ` +
        `list among its outputs (${[...declared].join(', ') || 'none'})`,
    );
  }
  const records: Record<string, number> = {};
  for (const output of spec.outputs) {
    const ids = [...(written.get(output.collection) ?? [])];
    const docs = await store.getMany(output.collection, ids);
    const landed = docs.filter((d) => d?.runId === runId).length;
    if (landed !== ids.length) {
      throw new TransientError(
        `write not verified: ${output.collection} has ${landed} of the ${ids.length} documents ` +
          `processor "${spec.name}" wrote for run ${runId}`,
      );
    }
    records[output.collection] = landed;
  }
  return records;
}
