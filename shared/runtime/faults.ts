import { z } from 'zod';
import type { DocumentStore, DocWrite } from '../ports/store.ts';

/**
 * Fault injection, for tests, the demo and the chaos soak. Set by the PHASEGATE_FAULTS
 * environment variable (JSON); off unless set. Counters live in the process, so
 * "the first K deliveries fail" holds for one function instance.
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
  })
  .strict();
export type FaultSpec = z.infer<typeof FaultSpecSchema>;

export function parseFaultSpec(json: string | undefined): FaultSpec {
  if (json === undefined || json.trim() === '') return { writeFailures: [] };
  const result = FaultSpecSchema.safeParse(JSON.parse(json));
  if (!result.success) throw new Error(`PHASEGATE_FAULTS is invalid: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
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
}

export function createFaultInjector(spec: FaultSpec): FaultInjector {
  const remaining = new Map<string, number | 'always'>(spec.writeFailures.map((f) => [f.processor, f.times]));
  function maybeFail(processor: string): void {
    const left = remaining.get(processor);
    if (left === undefined) return;
    if (left !== 'always') {
      if (left <= 0) return;
      remaining.set(processor, left - 1);
    }
    throw new InjectedWriteError(`14 UNAVAILABLE: injected write failure for processor ${processor}`);
  }
  return {
    storeFor(processor, store) {
      if (!remaining.has(processor)) return store;
      return {
        get: (collection, id) => store.get(collection, id),
        getMany: (collection, ids) => store.getMany(collection, ids),
        countWhere: (collection, filters) => store.countWhere(collection, filters),
        query: (collection, options) => store.query(collection, options),
        transaction: (fn) => store.transaction(fn),
        set: async (collection, id, data, options) => {
          maybeFail(processor);
          return store.set(collection, id, data, options);
        },
        writeBatch: async (writes: readonly DocWrite[]) => {
          maybeFail(processor);
          return store.writeBatch(writes);
        },
      };
    },
  };
}
