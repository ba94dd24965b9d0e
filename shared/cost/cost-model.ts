import { firestoreTotals, invocationTotals, type CostCounts } from './counts.ts';
import { cpuOfMemory, PRICES, type FirestoreLocationPrices, type PriceTable } from './prices.ts';

/** One line of a bill: how much of what, and what it costs at the table's list price. */
export interface CostLine {
  item: string;
  quantity: number;
  unit: string;
  usd: number;
}

export interface CostEstimate {
  partitions: number;
  pricesAsOf: string;
  firestoreLocation: string;
  lines: CostLine[];
  totalUsd: number;
  /** The same with Firestore in the multi-region location. */
  multiRegionTotalUsd: number;
}

const TIB = 2 ** 40;
const round = (usd: number) => Math.round(usd * 1e6) / 1e6;

function firestoreLines(perPartition: CostCounts, n: number, prices: FirestoreLocationPrices): CostLine[] {
  const ops = firestoreTotals(perPartition);
  const line = (item: string, count: number, per100k: number): CostLine => ({
    item,
    quantity: count * n,
    unit: 'documents',
    usd: round(((count * n) / 100_000) * per100k),
  });
  return [
    line(`Firestore reads (${prices.location})`, ops.reads, prices.reads),
    line(`Firestore writes (${prices.location})`, ops.writes, prices.writes),
    line(`Firestore deletes (${prices.location})`, ops.deletes, prices.deletes),
    // Whether Google bills a commit refused by its precondition its pages do not say: priced as writes.
    line(`Firestore refused writes, priced as writes (${prices.location})`, ops.refusedWrites, prices.writes),
  ];
}

/**
 * What `partitions` partitions cost at list prices, from the counts of one partition: Firestore
 * operations, Pub/Sub volume (billed bytes: the 1,000-byte minimum applied per request), and each
 * function's invocations and billed handler time at its memory size and that size's default vCPU
 * (`memoryMbOf`: the definition's function settings). Free tiers are not subtracted. Handler time
 * measured on the emulators is an estimate of Cloud Run's: a different machine, a local network.
 */
export function costOfPartitions(
  perPartition: CostCounts,
  options: { partitions: number; memoryMbOf: (functionName: string) => number; prices?: PriceTable },
): CostEstimate {
  const prices = options.prices ?? PRICES;
  const n = options.partitions;
  if (!Number.isInteger(n) || n <= 0) throw new Error(`partitions must be a positive integer, got ${n}`);
  const pubsub = (item: string, billedBytes: number): CostLine => ({
    item,
    quantity: billedBytes * n,
    unit: 'billed bytes',
    usd: round(((billedBytes * n) / TIB) * prices.pubsub.throughputPerTiB),
  });
  let vcpuSeconds = 0;
  let gibSeconds = 0;
  for (const [fn, c] of Object.entries(perPartition.invocations)) {
    const memoryMb = options.memoryMbOf(fn);
    vcpuSeconds += (c.billedMs / 1000) * cpuOfMemory(memoryMb, prices) * n;
    gibSeconds += (c.billedMs / 1000) * (memoryMb / 1024) * n;
  }
  const invocations = invocationTotals(perPartition).count * n;
  const rest: CostLine[] = [
    pubsub('Pub/Sub publish', perPartition.publishes.billedBytes),
    pubsub('Pub/Sub push delivery', perPartition.deliveries.billedBytes),
    {
      item: 'function invocations',
      quantity: invocations,
      unit: 'requests',
      usd: round((invocations / 1e6) * prices.functions.invocationsPerMillion),
    },
    {
      item: 'function CPU (estimate)',
      quantity: vcpuSeconds,
      unit: 'vCPU-seconds',
      usd: round(vcpuSeconds * prices.functions.vcpuSecond),
    },
    {
      item: 'function memory (estimate)',
      quantity: gibSeconds,
      unit: 'GiB-seconds',
      usd: round(gibSeconds * prices.functions.gibSecond),
    },
  ];
  const total = (lines: readonly CostLine[]) => round(lines.reduce((sum, l) => sum + l.usd, 0));
  const lines = [...firestoreLines(perPartition, n, prices.firestore.regional), ...rest];
  return {
    partitions: n,
    pricesAsOf: prices.asOf,
    firestoreLocation: prices.firestore.regional.location,
    lines,
    totalUsd: total(lines),
    multiRegionTotalUsd: total([...firestoreLines(perPartition, n, prices.firestore.multiRegion), ...rest]),
  };
}
