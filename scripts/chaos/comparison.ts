// The chaos run's domain data beside the fault-free reference's: what differs, and which dates
// each difference belongs to.
import type { Firestore } from '@google-cloud/firestore';
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import type { DocumentStore } from '../../shared/ports/store.ts';
import {
  compareSnapshots,
  snapshotCollections,
  type Difference,
  type Snapshot,
} from '../lib/chaos-compare.ts';
import type { Forced } from './pipeline.ts';

/** Every collection a processor of the definition writes. */
export const outputCollections = (definition: LoadedDefinition): string[] => [
  ...new Set(
    definition.phases.flatMap((p) => p.processors.flatMap((s) => s.outputs.map((o) => o.collection))),
  ),
];

export interface Comparison {
  /** The differences that count: not those of the short date, which differs by design. */
  counted: Difference[];
  datesOf: (d: Difference) => string[];
  /** Documents of the forced date still written by the run it superseded. */
  stale: number;
}

export async function compareWithReference(
  definition: LoadedDefinition,
  reference: Snapshot,
  chaos: { db: Firestore; store: DocumentStore },
  shortDate: string | null,
  forced: Forced | null,
): Promise<Comparison> {
  const chaosData = await snapshotCollections(chaos.db, outputCollections(definition));
  const diffs = compareSnapshots(reference, chaosData);
  /** collection -> the fields naming the date a document is of. */
  const dateFields = new Map<string, Set<string>>();
  for (const o of definition.phases.flatMap((p) => p.processors.flatMap((s) => s.outputs)))
    dateFields.set(o.collection, new Set([...(dateFields.get(o.collection) ?? []), o.partitionField]));
  const datesOf = (d: Difference): string[] => {
    const doc = JSON.parse(
      (d.kind === 'duplicate' ? chaosData : reference).get(d.collection)?.get(d.id) ?? '{}',
    ) as Record<string, unknown>;
    return [...(dateFields.get(d.collection) ?? [])]
      .map((f) => doc[f])
      .filter((v): v is string => typeof v === 'string');
  };
  const counted = diffs.filter((d) => !shortDate || !datesOf(d).includes(shortDate));
  const stale = forced
    ? (
        await Promise.all(
          [...dateFields].flatMap(([collection, fields]) =>
            [...fields].map((field) =>
              chaos.store.countWhere(collection, [
                { field, op: '==', value: forced.gameDate },
                { field: 'runId', op: '==', value: forced.oldRunId },
              ]),
            ),
          ),
        )
      ).reduce((a, b) => a + b, 0)
    : 0;
  return { counted, datesOf, stale };
}
