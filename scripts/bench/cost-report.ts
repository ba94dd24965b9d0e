// The cost model block a benchmark result may carry: the counts of one partition, the cost of 1,000
// at list prices, and how it was measured; printed after the table and kept whole in the JSON.
import type { CostEstimate } from '../../shared/cost/cost-model.ts';
import { firestoreTotals, invocationTotals, type CostCounts } from '../../shared/cost/counts.ts';

export interface CostModelBlock {
  /** How many partitions were measured (the counts are divided by it). */
  partitionsMeasured: number;
  perPartition: CostCounts;
  /** The cost of `estimate.partitions` partitions. */
  estimate: CostEstimate;
  notes: string[];
}

const one = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1 });
const usd = (n: number) =>
  `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 4 })}`;

/** The block as lines of text, under the benchmark's id. */
export function costModelLines(id: number, cost: CostModelBlock): string[] {
  const p = cost.perPartition;
  const ops = firestoreTotals(p);
  const calls = invocationTotals(p);
  const byWrites = Object.entries(p.firestore)
    .filter(([, o]) => o.writes > 0)
    .sort(([, a], [, b]) => b.writes - a.writes)
    .map(([c, o]) => `${c} ${one(o.writes)}`);
  const byFunction = Object.entries(p.invocations)
    .sort(([, a], [, b]) => b.count - a.count)
    .map(([f, c]) => `${f} ${one(c.count)} (${one(c.count > 0 ? c.handlerMs / c.count : 0)} ms each)`);
  const { estimate } = cost;
  const width = Math.max(...estimate.lines.map((l) => l.item.length));
  return [
    `cost model (${id}): per partition, measured over ${cost.partitionsMeasured} partition(s)`,
    `  Firestore: ${one(ops.reads)} reads, ${one(ops.writes)} writes, ${one(ops.deletes)} deletes, ` +
      `${one(ops.refusedWrites)} writes refused by their precondition (nothing written)`,
    `    writes by collection: ${byWrites.join(', ') || 'none'}`,
    `  Pub/Sub: ${one(p.publishes.requests)} publishes (${one(p.publishes.bytes)} bytes, ` +
      `${one(p.publishes.billedBytes)} billed), ${one(p.deliveries.requests)} push deliveries ` +
      `(${one(p.deliveries.bytes)} bytes, ${one(p.deliveries.billedBytes)} billed)`,
    `  functions: ${one(calls.count)} invocations, ${one(calls.handlerMs / 1000)} s of handler time ` +
      `(${one(calls.billedMs / 1000)} s billed)`,
    `    invocations by function: ${byFunction.join(', ') || 'none'}`,
    `  ${one(estimate.partitions)} partitions at list prices of ${estimate.pricesAsOf} ` +
      `(Firestore ${estimate.firestoreLocation}; free tiers not subtracted):`,
    ...estimate.lines.map(
      (l) =>
        `    ${l.item.padEnd(width)}  ${one(l.quantity).padStart(14)} ${l.unit.padEnd(13)} ${usd(l.usd)}`,
    ),
    `    total ${usd(estimate.totalUsd)} (${usd(estimate.multiRegionTotalUsd)} with Firestore in the multi-region)`,
    ...cost.notes.map((n) => `  note: ${n}`),
  ];
}

/** Every result's cost model block, one after the other (nothing when no result carries one). */
export function costModelText(results: readonly { id: number; cost?: CostModelBlock }[]): string {
  return results
    .flatMap((r) => (r.cost ? ['', ...costModelLines(r.id, r.cost)] : []))
    .join('\n')
    .trimStart();
}
