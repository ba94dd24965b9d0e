import { describe, expect, it } from 'vitest';
import { costOfPartitions } from '../../shared/cost/cost-model.ts';
import {
  addCounts,
  divideCounts,
  emptyCounts,
  firestoreTotals,
  subtractCounts,
  type CostCounts,
} from '../../shared/cost/counts.ts';
import { cpuOfMemory, PRICES } from '../../shared/cost/prices.ts';
import { costModelText } from '../../scripts/bench/cost-report.ts';

/** One partition: numbers chosen so each line's dollars are easy to check by hand. */
const perPartition: CostCounts = {
  firestore: {
    runs: { reads: 60, writes: 30, deletes: 10, refusedWrites: 2 },
    games: { reads: 40, writes: 20, deletes: 0, refusedWrites: 0 },
  },
  publishes: { requests: 10, bytes: 3_000, billedBytes: 10_000 },
  deliveries: { requests: 12, bytes: 3_600, billedBytes: 12_000 },
  invocations: {
    'phase-raw': { count: 6, handlerMs: 900, billedMs: 1200 },
    'orchestrator-completions': { count: 4, handlerMs: 700, billedMs: 800 },
  },
};
const memory: Record<string, number> = { 'phase-raw': 512, 'orchestrator-completions': 256 };
const estimate = () =>
  costOfPartitions(perPartition, {
    partitions: 1000,
    memoryMbOf: (fn) => memory[fn] ?? Number.NaN,
  });
const usdOf = (item: string) => estimate().lines.find((l) => l.item.startsWith(item))?.usd;

describe('the price table', () => {
  it('is dated, names its sources, and prices the regional location deploy creates beside the multi-region', () => {
    expect(PRICES.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(PRICES.firestore.regional).toMatchObject({
      location: 'us-central1 (Iowa)',
      reads: 0.03,
      writes: 0.09,
    });
    expect(PRICES.firestore.multiRegion).toMatchObject({ reads: 0.06, writes: 0.18, deletes: 0.02 });
    expect(PRICES.pubsub).toMatchObject({ throughputPerTiB: 40, minBytesPerRequest: 1000 });
    expect(PRICES.functions).toMatchObject({
      invocationsPerMillion: 0.4,
      vcpuSecond: 0.000024,
      gibSecond: 0.0000025,
    });
    for (const source of [PRICES.firestore.regional.source, PRICES.pubsub.source, PRICES.functions.source])
      expect(source.url).toMatch(/^https:\/\/cloud\.google\.com\//);
  });

  it("gives a memory size's default vCPU, and refuses a size it does not know", () => {
    expect(cpuOfMemory(256)).toBe(0.167);
    expect(cpuOfMemory(512)).toBe(0.333);
    expect(() => cpuOfMemory(300)).toThrow('no default vCPU is known for 300 MiB (known: 128, 256, 512');
  });
});

describe('the cost of 1,000 partitions', () => {
  it('prices Firestore per 100,000 documents in us-central1, writes refused by their precondition as writes', () => {
    // 100,000 reads at $0.03, 50,000 writes at $0.09, 10,000 deletes at $0.01, 2,000 refused at $0.09.
    expect(usdOf('Firestore reads')).toBeCloseTo(0.03, 9);
    expect(usdOf('Firestore writes')).toBeCloseTo(0.045, 9);
    expect(usdOf('Firestore deletes')).toBeCloseTo(0.001, 9);
    expect(usdOf('Firestore refused writes')).toBeCloseTo(0.0018, 9);
  });

  it('prices Pub/Sub by billed bytes at $40 per TiB, publish and push delivery each', () => {
    expect(usdOf('Pub/Sub publish')).toBeCloseTo(((10_000 * 1000) / 2 ** 40) * 40, 6);
    expect(usdOf('Pub/Sub push delivery')).toBeCloseTo(((12_000 * 1000) / 2 ** 40) * 40, 6);
  });

  it("prices invocations per million and billed handler time at each function's memory and default vCPU", () => {
    expect(usdOf('function invocations')).toBeCloseTo((10_000 / 1e6) * 0.4, 9);
    // phase-raw: 1.2 s x 1,000 at 512 MiB (0.333 vCPU); the completions: 0.8 s x 1,000 at 256 MiB (0.167 vCPU).
    const vcpuSeconds = 1200 * 0.333 + 800 * 0.167;
    const gibSeconds = 1200 * 0.5 + 800 * 0.25;
    expect(estimate().lines.find((l) => l.item.startsWith('function CPU'))?.quantity).toBeCloseTo(
      vcpuSeconds,
      9,
    );
    expect(usdOf('function CPU')).toBeCloseTo(vcpuSeconds * 0.000024, 6);
    expect(usdOf('function memory')).toBeCloseTo(gibSeconds * 0.0000025, 6);
  });

  it('totals the lines, and the multi-region total differs only by Firestore', () => {
    const e = estimate();
    expect(e.totalUsd).toBeCloseTo(
      e.lines.reduce((sum, l) => sum + l.usd, 0),
      5,
    );
    // Multi-region Firestore is twice the regional rate: the Firestore lines once more.
    const firestore = e.lines
      .filter((l) => l.item.startsWith('Firestore'))
      .reduce((sum, l) => sum + l.usd, 0);
    expect(e.multiRegionTotalUsd).toBeCloseTo(e.totalUsd + firestore, 5);
    expect(e).toMatchObject({
      partitions: 1000,
      pricesAsOf: PRICES.asOf,
      firestoreLocation: 'us-central1 (Iowa)',
    });
  });

  it('refuses a bad number of partitions and a function it has no memory size for', () => {
    expect(() => costOfPartitions(perPartition, { partitions: 0, memoryMbOf: () => 256 })).toThrow(
      'partitions must be a positive integer, got 0',
    );
    expect(() =>
      costOfPartitions(perPartition, {
        partitions: 1,
        memoryMbOf: (fn) => {
          throw new Error(`no memory for ${fn}`);
        },
      }),
    ).toThrow('no memory for phase-raw');
  });
});

describe('counts of several processes', () => {
  it('add up, subtract an earlier reading, and divide into counts per partition', () => {
    const total = addCounts(perPartition, perPartition, emptyCounts());
    expect(firestoreTotals(total)).toEqual({ reads: 200, writes: 100, deletes: 20, refusedWrites: 4 });
    expect(firestoreTotals(total, ['games']).writes).toBe(40);
    expect(total.invocations['phase-raw']).toEqual({ count: 12, handlerMs: 1800, billedMs: 2400 });
    expect(divideCounts(total, 2)).toEqual(perPartition);
    expect(subtractCounts(total, perPartition)).toEqual(perPartition);
    expect(() => divideCounts(total, 0)).toThrow('cannot divide counts by 0');
  });

  it('print as a cost model block after the table, and as nothing when no result carries one', () => {
    const block = { partitionsMeasured: 2, perPartition, estimate: estimate(), notes: ['measured here'] };
    const text = costModelText([{ id: 3 }, { id: 7, cost: block }]);
    expect(text.split('\n')[0]).toBe('cost model (7): per partition, measured over 2 partition(s)');
    expect(text).toContain('writes by collection: runs 30, games 20');
    expect(text).toContain(`total $${estimate().totalUsd.toFixed(4)}`);
    expect(text).toContain('note: measured here');
    expect(costModelText([{ id: 1 }])).toBe('');
  });
});
