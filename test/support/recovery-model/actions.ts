import fc from 'fast-check';
import { testDefinition } from '../../fixtures/test-pipeline/definition.ts';

export const DATES = ['2026-02-26', '2026-02-27'] as const;
export const PROCESSORS = ['widgets', 'gadgets', 'summary'] as const;
export type ProcessorName = (typeof PROCESSORS)[number];
export const MAX_DELIVERIES = testDefinition.phases[0]!.subscription.maxDeliveryAttempts;
export const LEASE_MS = testDefinition.phases[0]!.function.timeoutSeconds * 1000;

export type Action =
  | { kind: 'request'; date: number; force: boolean }
  | { kind: 'scheduled' }
  | { kind: 'partial'; date: number; force: boolean; from: 'alpha' | 'beta' }
  | { kind: 'deliver' | 'duplicate' | 'overlap' | 'zombie' | 'deadLetter' | 'lateDeadLetter'; pick: number }
  | { kind: 'crash'; pick: number; after: number }
  | { kind: 'tick' | 'reconcile' }
  | { kind: 'advance'; ms: number }
  | { kind: 'completeness'; date: number }
  | { kind: 'manual'; op: 'retry' | 'resolve' | 'discard'; pick: number }
  | {
      kind: 'fault';
      processor: ProcessorName;
      fault: 'transient' | 'notReady' | 'short' | 'permanent';
      times: number;
    }
  | { kind: 'publishOutage'; times: number };

export const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('request' as const),
      date: fc.nat(DATES.length - 1),
      force: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'scheduled' as const }) },
  // A recovery run of one processor from a later phase: it supersedes the date's run without running its other processors.
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('partial' as const),
      date: fc.nat(DATES.length - 1),
      force: fc.boolean(),
      from: fc.constantFrom('alpha' as const, 'beta' as const),
    }),
  },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom('duplicate' as const, 'overlap' as const, 'zombie' as const),
      pick: fc.nat(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom('deadLetter' as const, 'lateDeadLetter' as const),
      pick: fc.nat(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('crash' as const), pick: fc.nat(), after: fc.nat(6) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('tick' as const, 'reconcile' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.integer({ min: 1_000, max: 2 * 3_600_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('completeness' as const), date: fc.nat(DATES.length - 1) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('manual' as const),
      op: fc.constantFrom('retry' as const, 'resolve' as const, 'discard' as const),
      pick: fc.nat(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('fault' as const),
      processor: fc.constantFrom(...PROCESSORS),
      fault: fc.constantFrom(
        'transient' as const,
        'notReady' as const,
        'short' as const,
        'permanent' as const,
      ),
      times: fc.integer({ min: 1, max: 7 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('publishOutage' as const),
      times: fc.integer({ min: 1, max: 2 }),
    }),
  },
);
