/**
 * Google's list prices the cost model uses (USD, no discounts), dated: a price changes, this table
 * does not. Each figure names where it was read and whether Google's own page said it; a figure no
 * stored copy of Google's page showed says so. Free tiers are listed, and not subtracted from the
 * cost of 1,000 partitions (they are per billing account and per day or month, not per pipeline).
 * To update: read the pages, change the figures and `asOf`, and run the cost-model unit test.
 */

type Source = {
  url: string;
  /** `google`: read on Google's page; `third-party`: Google's page had no copy with the figure; `not found`: see `note`. */
  found: 'google' | 'third-party' | 'not found';
  note?: string;
};

export const PRICES = {
  asOf: '2026-12-03',
  currency: 'USD',
  firestore: {
    edition: 'Firestore Standard edition (Native mode)',
    unit: 'per 100,000 documents',
    /**
     * Deploy creates the database in the target's region (infra/deploy/terraform.ts `location_id`,
     * gcloud `--location`): a regional location. The cost model prices us-central1 and shows the
     * multi-region beside it.
     */
    regional: {
      location: 'us-central1 (Iowa)',
      reads: 0.03,
      writes: 0.09,
      deletes: 0.01,
      source: {
        url: 'https://cloud.google.com/firestore/pricing',
        found: 'third-party',
        note:
          "Google's page renders its per-location table with script; no stored copy of it has the figures. Reads " +
          '$0.03 and writes $0.09 for US regions as quoted by https://airbyte.com/data-engineering-resources/' +
          'google-firestore-pricing; deletes $0.01 not found in any stored page: half the multi-region rate, as ' +
          'for reads and writes. Last verified 2026-12-03 (reads, writes); deletes unverified.',
      } satisfies Source,
    },
    multiRegion: {
      location: 'nam5 (United States)',
      reads: 0.06,
      writes: 0.18,
      deletes: 0.02,
      source: {
        url: 'https://cloud.google.com/firestore/pricing',
        found: 'google',
        note: "the multi-region table of a stored earlier copy of Google's page; last verified 2026-12-03",
      } satisfies Source,
    },
    freeTier: 'per project (default database): 50,000 reads, 20,000 writes, 20,000 deletes a day',
    rules: {
      url: 'https://firebase.google.com/docs/firestore/pricing#aggregation_queries',
      found: 'google',
      note:
        'count(): one read per batch of up to 1,000 index entries matched (0-1,000 entries: 1 read). A query ' +
        'is at least one read even with no result, a missing document read is a read (Firestore pricing ' +
        '"Reads, writes, and deletes"; the brief of issue 17, not re-read in a stored copy).',
    } satisfies Source,
  },
  pubsub: {
    /** Message Delivery Basic: publish and delivery (push, pull) each count their volume. */
    throughputPerTiB: 40,
    minBytesPerRequest: 1000,
    freeTier: 'per billing account: the first 10 GiB of throughput a month',
    source: {
      url: 'https://cloud.google.com/pubsub/pricing',
      found: 'google',
      note:
        'volume of a message: data + attribute keys and values + 20 bytes of timestamp + message id; at least ' +
        '1,000 bytes per publish, push or pull request; TiB = 2^40 bytes. Last verified 2026-12-03.',
    } satisfies Source,
  },
  functions: {
    product:
      'Cloud Run functions (Cloud Functions 2nd gen) are billed as Cloud Run services: request-based billing ' +
      '(CPU only during requests), a Tier 1 region such as us-central1',
    invocationsPerMillion: 0.4,
    vcpuSecond: 0.000024,
    gibSecond: 0.0000025,
    /** Each request's instance time is rounded up to 100 ms (concurrency 1, deploy's default). */
    granularityMs: 100,
    freeTier: 'per billing account a month: 180,000 vCPU-seconds, 360,000 GiB-seconds, 2 million requests',
    source: {
      url: 'https://cloud.google.com/run/pricing',
      found: 'google',
      note:
        "free tier, 100 ms rounding and $0.000024 per vCPU-second from Google's page; $0.0000025 per GiB-second " +
        'and $0.40 per million requests from https://cloudwebschool.com/tools/cloud-run-cost-calculator/ (the ' +
        "stored copy of Google's page is cut before them). Last verified 2026-12-03.",
    } satisfies Source,
    /** Deploy sets `--memory` only: the CPU is the memory size's default. */
    cpuByMemoryMb: {
      128: 0.083,
      256: 0.167,
      512: 0.333,
      1024: 0.583,
      2048: 1,
      4096: 2,
      8192: 2,
      16384: 4,
      32768: 8,
    },
    cpuSource: {
      url: 'https://cloud.google.com/functions/docs/configuring/memory',
      found: 'google',
      note: 'memory and vCPU tiers; last verified 2026-12-03',
    } satisfies Source,
  },
} as const;

export type PriceTable = typeof PRICES;
export type FirestoreLocationPrices =
  PriceTable['firestore']['regional'] | PriceTable['firestore']['multiRegion'];

/** The default vCPU of a function with `memoryMb`; an unknown size is an error naming the known ones. */
export function cpuOfMemory(memoryMb: number, prices: PriceTable = PRICES): number {
  const cpu = (prices.functions.cpuByMemoryMb as Readonly<Record<number, number>>)[memoryMb];
  if (cpu === undefined)
    throw new Error(
      `no default vCPU is known for ${memoryMb} MiB (known: ${Object.keys(prices.functions.cpuByMemoryMb).join(', ')} MiB)`,
    );
  return cpu;
}
