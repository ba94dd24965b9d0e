import { z } from 'zod';

/**
 * Fault injection, for tests, the demo and the chaos soak. Set by the PHASEGATE_FAULTS
 * environment variable (JSON); off unless set. The injector only counts what is left of each
 * fault; the decorators of fault-decorators.ts apply them where the dependencies are built, so no
 * handler mentions faults. Write-failure and slow-run counters live in the process, so "the first
 * K writes fail" holds for one function instance; crash counters live in {@link CrashMarkers}
 * (marker files at the root), so a restarted instance does not crash again.
 */

/** Where a crash can be injected: after the orchestrator recorded a decision, before it sent it. */
export const CRASH_POINTS = ['after-run-decision', 'after-trigger-decision'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

export const FaultSpecSchema = z
  .object({
    /** By processor name, or `dlq-recorder` for the dead-letter recorder's own writes. */
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
            point: z.enum(CRASH_POINTS),
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

/** How many times each crash has fired, kept where it outlives the process the crash kills. */
export interface CrashMarkers {
  /** How many times the crash counted by `marker` (its `markerFile`) has fired. */
  fired(marker: string): number;
  /** Counts one more firing. */
  recordFiring(marker: string): void;
}

export interface FaultInjector {
  /** Waits when a slow run is configured for this processor and not used up. */
  delay(processor: string): Promise<void>;
  /** Whether write failures are configured for this processor (or `dlq-recorder`) at all. */
  failsWrites(processor: string): boolean;
  /** Throws {@link InjectedWriteError} while this processor's write failures last; each throw uses one up. */
  failWrite(processor: string): void;
  /** How many times each message is published (1: no duplicates). */
  readonly publishCopies: number;
  /** Exits the process here when a crash is configured for this point and not used up. */
  crashPoint(point: CrashPoint): void;
}

export interface FaultInjectorOptions {
  /** Defaults to counts held in this process (a test's): a restarted process would crash again. */
  crashMarkers?: CrashMarkers;
  exit?: (code: number) => never;
}

function processCrashMarkers(): CrashMarkers {
  const fired = new Map<string, number>();
  return {
    fired: (marker) => fired.get(marker) ?? 0,
    recordFiring: (marker) => void fired.set(marker, (fired.get(marker) ?? 0) + 1),
  };
}

export function createFaultInjector(
  spec: Partial<FaultSpec>,
  options: FaultInjectorOptions = {},
): FaultInjector {
  const markers = options.crashMarkers ?? processCrashMarkers();
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const remaining = new Map<string, number | 'always'>(
    (spec.writeFailures ?? []).map((f) => [f.processor, f.times]),
  );
  const slow = new Map((spec.slowHandlers ?? []).map((s) => [s.processor, { ...s }]));
  return {
    async delay(processor) {
      const rule = slow.get(processor);
      if (!rule || rule.times <= 0) return;
      rule.times -= 1;
      process.stderr.write(`phasegate: injected delay of ${rule.delayMs} ms for ${processor}\n`);
      await new Promise((resolve) => setTimeout(resolve, rule.delayMs));
    },
    failsWrites: (processor) => remaining.has(processor),
    failWrite(processor) {
      const left = remaining.get(processor);
      if (left === undefined) return;
      if (left !== 'always') {
        if (left <= 0) return;
        remaining.set(processor, left - 1);
      }
      throw new InjectedWriteError(`14 UNAVAILABLE: injected write failure for processor ${processor}`);
    },
    publishCopies: spec.duplicatePublishes ?? 1,
    crashPoint(point) {
      for (const crash of spec.crashes ?? []) {
        if (crash.point !== point) continue;
        const done = markers.fired(crash.markerFile);
        if (done >= crash.times) continue;
        markers.recordFiring(crash.markerFile);
        process.stderr.write(`phasegate: injected crash at ${point} (${done + 1}/${crash.times})\n`);
        exit(137);
      }
    },
  };
}
