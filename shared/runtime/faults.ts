import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { Publisher } from '../ports/publisher.ts';
import type { DocumentStore, DocWrite } from '../ports/store.ts';

/**
 * Fault injection, for tests, the demo and the chaos soak. Set by the PHASEGATE_FAULTS
 * environment variable (JSON); off unless set. Write-failure counters live in the process,
 * so "the first K writes fail" holds for one function instance; crash counters live in a
 * marker file, so a restarted instance does not crash again.
 */
export const FaultSpecSchema = z
  .object({
    writeFailures: z
      .array(
        z
          .object({
            processor: z.string().min(1),
            /** How many write calls fail before writes succeed; `always` never recovers. */
            times: z.union([z.number().int().positive(), z.literal('always')]),
          })
          .strict(),
      )
      .default([]),
    /** The processor's first `times` runs in this instance take `delayMs` longer (past an ack deadline, say). */
    slowHandlers: z
      .array(
        z
          .object({
            processor: z.string().min(1),
            delayMs: z.number().int().positive().max(600_000),
            times: z.number().int().positive(),
          })
          .strict(),
      )
      .default([]),
    /** Every message this instance publishes is published this many times (duplicate deliveries). */
    duplicatePublishes: z.number().int().min(1).max(10).default(1),
    /** Kill the process at a named point, `times` times across restarts (counted in `markerFile`). */
    crashes: z
      .array(
        z
          .object({
            point: z.string().min(1),
            times: z.number().int().positive(),
            markerFile: z.string().min(1),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();
export type FaultSpec = z.infer<typeof FaultSpecSchema>;

export function parseFaultSpec(json: string | undefined): FaultSpec {
  const empty: FaultSpec = { writeFailures: [], slowHandlers: [], duplicatePublishes: 1, crashes: [] };
  if (json === undefined || json.trim() === '') return empty;
  const result = FaultSpecSchema.safeParse(JSON.parse(json));
  if (!result.success)
    throw new Error(
      `PHASEGATE_FAULTS is invalid: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return result.data;
}

export class InjectedWriteError extends Error {
  override readonly name = 'InjectedWriteError';
  /** gRPC UNAVAILABLE, the way Firestore reports an outage: transient. */
  readonly code = 14;
}

export interface FaultInjector {
  /** The store a processor sees: its writes fail while its fault lasts. */
  storeFor(processor: string, store: DocumentStore): DocumentStore;
  /** The publisher, duplicating every message when asked to. */
  publisher(publisher: Publisher): Publisher;
  /** Exits the process here when a crash is configured for this point and not used up. */
  crashPoint(point: string): void;
  /** Waits when a slow run is configured for this processor and not used up. */
  delay(processor: string): Promise<void>;
}

export function createFaultInjector(
  spec: Partial<FaultSpec>,
  exit: (code: number) => never = (code) => process.exit(code),
): FaultInjector {
  const remaining = new Map<string, number | 'always'>(
    (spec.writeFailures ?? []).map((f) => [f.processor, f.times]),
  );
  function maybeFail(processor: string): void {
    const left = remaining.get(processor);
    if (left === undefined) return;
    if (left !== 'always') {
      if (left <= 0) return;
      remaining.set(processor, left - 1);
    }
    throw new InjectedWriteError(`14 UNAVAILABLE: injected write failure for processor ${processor}`);
  }
  const copies = spec.duplicatePublishes ?? 1;
  const slow = new Map((spec.slowHandlers ?? []).map((s) => [s.processor, { ...s }]));
  return {
    async delay(processor) {
      const rule = slow.get(processor);
      if (!rule || rule.times <= 0) return;
      rule.times -= 1;
      process.stderr.write(`phasegate: injected delay of ${rule.delayMs} ms for ${processor}\n`);
      await new Promise((resolve) => setTimeout(resolve, rule.delayMs));
    },
    storeFor(processor, store) {
      if (!remaining.has(processor)) return store;
      return {
        get: (collection, id) => store.get(collection, id),
        getMany: (collection, ids) => store.getMany(collection, ids),
        countWhere: (collection, filters) => store.countWhere(collection, filters),
        query: (collection, options) => store.query(collection, options),
        transaction: async (fn) => {
          maybeFail(processor);
          return store.transaction(fn);
        },
        set: async (collection, id, data, options) => {
          maybeFail(processor);
          return store.set(collection, id, data, options);
        },
        create: async (collection, id, data) => {
          maybeFail(processor);
          return store.create(collection, id, data);
        },
        writeBatch: async (writes: readonly DocWrite[]) => {
          maybeFail(processor);
          return store.writeBatch(writes);
        },
      };
    },
    publisher(publisher) {
      if (copies <= 1) return publisher;
      return {
        async publish(topic, message, attributes) {
          const ids = await Promise.all(
            Array.from({ length: copies }, () => publisher.publish(topic, message, attributes)),
          );
          return ids[0]!;
        },
      };
    },
    crashPoint(point) {
      for (const crash of spec.crashes ?? []) {
        if (crash.point !== point) continue;
        const done = existsSync(crash.markerFile) ? Number(readFileSync(crash.markerFile, 'utf8')) || 0 : 0;
        if (done >= crash.times) continue;
        writeFileSync(crash.markerFile, String(done + 1));
        process.stderr.write(`phasegate: injected crash at ${point} (${done + 1}/${crash.times})\n`);
        exit(137);
      }
    },
  };
}
