import { z } from 'zod';

/**
 * What a pipeline does that Google bills, counted the way Google counts it (shared/adapters/
 * cost-meter.ts applies the rules). Firestore by collection, function invocations by function, so
 * a figure can be traced to the collection or function behind it. Plain data: a process hands it to
 * the bench as JSON, and counts of several processes add up.
 */
const nonNegative = z.number().nonnegative();

export const OperationCountsSchema = z.object({
  reads: nonNegative,
  /** Documents written by commits that succeeded. */
  writes: nonNegative,
  deletes: nonNegative,
  /**
   * Writes of commits refused because the document they create exists (a claim another delivery
   * holds): nothing is written, and Google's pages do not say whether they are billed. The cost
   * model prices them as writes (an upper bound).
   */
  refusedWrites: nonNegative,
});
export type OperationCounts = z.infer<typeof OperationCountsSchema>;

/** Pub/Sub requests and their data volume: `bytes` as sent, `billedBytes` with the 1,000-byte minimum per request. */
export const VolumeSchema = z.object({ requests: nonNegative, bytes: nonNegative, billedBytes: nonNegative });
export type Volume = z.infer<typeof VolumeSchema>;

/** Handler time of one function: `billedMs` rounds each invocation up to Cloud Run's 100 ms. */
export const InvocationCountsSchema = z.object({
  count: nonNegative,
  handlerMs: nonNegative,
  billedMs: nonNegative,
});
export type InvocationCounts = z.infer<typeof InvocationCountsSchema>;

export const CostCountsSchema = z.object({
  /** By collection. */
  firestore: z.record(z.string(), OperationCountsSchema),
  publishes: VolumeSchema,
  /** Push requests into the functions. */
  deliveries: VolumeSchema,
  /** By function name. */
  invocations: z.record(z.string(), InvocationCountsSchema),
});
export type CostCounts = z.infer<typeof CostCountsSchema>;

const noVolume = (): Volume => ({ requests: 0, bytes: 0, billedBytes: 0 });

export const emptyCounts = (): CostCounts => ({
  firestore: {},
  publishes: noVolume(),
  deliveries: noVolume(),
  invocations: {},
});

function addInto<T extends Record<string, number>>(
  target: Record<string, T>,
  source: Record<string, T>,
): void {
  for (const [key, value] of Object.entries(source)) {
    const sum = { ...(target[key] ?? {}) } as Record<string, number>;
    for (const [field, n] of Object.entries(value)) sum[field] = (sum[field] ?? 0) + n;
    target[key] = sum as T;
  }
}

const addVolume = (a: Volume, b: Volume): Volume => ({
  requests: a.requests + b.requests,
  bytes: a.bytes + b.bytes,
  billedBytes: a.billedBytes + b.billedBytes,
});

/** The counts of several processes (or runs) together. */
export function addCounts(...all: readonly CostCounts[]): CostCounts {
  const total = emptyCounts();
  for (const counts of all) {
    addInto(total.firestore, counts.firestore);
    addInto(total.invocations, counts.invocations);
    total.publishes = addVolume(total.publishes, counts.publishes);
    total.deliveries = addVolume(total.deliveries, counts.deliveries);
  }
  return total;
}

/** What `later` counted beyond `earlier` (two readings of the same processes' counts). */
export function subtractCounts(later: CostCounts, earlier: CostCounts): CostCounts {
  const minus = <T extends Record<string, number>>(a: T, b: T | undefined): T =>
    Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b?.[k] ?? 0)])) as T;
  const minusAll = <T extends Record<string, number>>(a: Record<string, T>, b: Record<string, T>) =>
    Object.fromEntries(Object.entries(a).map(([k, v]) => [k, minus(v, b[k])]));
  return {
    firestore: minusAll(later.firestore, earlier.firestore),
    publishes: minus(later.publishes, earlier.publishes),
    deliveries: minus(later.deliveries, earlier.deliveries),
    invocations: minusAll(later.invocations, earlier.invocations),
  };
}

/** Every count divided by `n` (per partition, over `n` partitions). */
export function divideCounts(counts: CostCounts, n: number): CostCounts {
  if (!Number.isFinite(n) || n <= 0) throw new Error(`cannot divide counts by ${n}: give a positive number`);
  const scale = <T extends Record<string, number>>(value: T): T =>
    Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v / n])) as T;
  const scaleAll = <T extends Record<string, number>>(by: Record<string, T>) =>
    Object.fromEntries(Object.entries(by).map(([k, v]) => [k, scale(v)]));
  return {
    firestore: scaleAll(counts.firestore),
    publishes: scale(counts.publishes),
    deliveries: scale(counts.deliveries),
    invocations: scaleAll(counts.invocations),
  };
}

/** Firestore operations over every collection, or over those `only` names. */
export function firestoreTotals(counts: CostCounts, only?: readonly string[]): OperationCounts {
  const total = { reads: 0, writes: 0, deletes: 0, refusedWrites: 0 };
  for (const [collection, ops] of Object.entries(counts.firestore)) {
    if (only && !only.includes(collection)) continue;
    total.reads += ops.reads;
    total.writes += ops.writes;
    total.deletes += ops.deletes;
    total.refusedWrites += ops.refusedWrites;
  }
  return total;
}

/** Invocations and handler time over every function. */
export function invocationTotals(counts: CostCounts): InvocationCounts {
  const total = { count: 0, handlerMs: 0, billedMs: 0 };
  for (const c of Object.values(counts.invocations)) {
    total.count += c.count;
    total.handlerMs += c.handlerMs;
    total.billedMs += c.billedMs;
  }
  return total;
}
