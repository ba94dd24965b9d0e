/**
 * A model-based test of the recovery layer (fast-check): random interleavings of deliveries,
 * duplicates, crashes before any store write, ack-deadline overlaps and zombies, dead letters
 * (timely and late), source faults, auto-retry and reconcile ticks, manual queue actions,
 * completeness, forced second runs and clock advances, over the in-memory stores. After each
 * sequence the world is settled (every message delivered, ticks until quiet) and checked:
 *
 * (a) every requested date has a current run whose stored status is the status recomputed from
 *     durable state; SUCCESS means the data of a fault-free run, anything else an entry that says why;
 * (b) no entry is `succeeded` unless a person resolved it or its phase passed its gate in its run
 *     while that run was the date's current run;
 * (c) no domain document of a date carries an older run's id once the current run passed that phase;
 * (d) retry counters never exceed their limits;
 * (e) nothing reaches control-dlq (the recorder never fails on a payload).
 *
 * `PHASEGATE_MODEL_RUNS` sets the number of sequences (1,000 by default); a failure prints its seed
 * and path, and `PHASEGATE_MODEL_SEED` / `PHASEGATE_MODEL_PATH` replay it.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { actionArb, type Action } from '../support/recovery-model/actions.ts';
import { checkInvariants } from '../support/recovery-model/invariants.ts';
import { createWorld } from '../support/recovery-model/world.ts';

const runs = Number(process.env.PHASEGATE_MODEL_RUNS ?? 1000);
const seed =
  process.env.PHASEGATE_MODEL_SEED === undefined ? undefined : Number(process.env.PHASEGATE_MODEL_SEED);
const path = process.env.PHASEGATE_MODEL_PATH;

/** Sequences the property once failed on, kept as they were found (each names what it found). */
const COUNTEREXAMPLES: { found: string; actions: Action[] }[] = [
  {
    found:
      'a completion published while its record crashed: the re-run failed, a run whose gates passed went FAILED',
    actions: [
      { kind: 'scheduled' },
      { kind: 'deliver', pick: 0 },
      { kind: 'crash', pick: 113590611, after: 3 },
      { kind: 'deliver', pick: 7 },
      { kind: 'crash', pick: 0, after: 2 },
      { kind: 'deliver', pick: 812730925 },
      { kind: 'fault', processor: 'widgets', fault: 'notReady', times: 4 },
    ],
  },
];

describe('the recovery layer, model-based', () => {
  it.each(COUNTEREXAMPLES)('keeps (a)-(e) on a sequence it once failed on: $found', async ({ actions }) => {
    const world = createWorld();
    for (const action of actions) await world.apply(action);
    await world.quiesce();
    await checkInvariants(world);
  });

  it(`keeps (a)-(e) over ${runs} random sequences of deliveries, faults, ticks and manual actions`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: 1, maxLength: 30 }), async (actions) => {
        const world = createWorld();
        for (const action of actions) await world.apply(action);
        await world.quiesce();
        // PHASEGATE_MODEL_DEBUG=1 with a replay: what the kit's collections hold once the world is quiet.
        if (process.env.PHASEGATE_MODEL_DEBUG)
          console.log(
            JSON.stringify(
              Object.fromEntries(Object.values(COLLECTIONS).map((c) => [c, world.memory.docs(c)])),
              null,
              1,
            ),
          );
        await checkInvariants(world);
      }),
      {
        numRuns: runs,
        ...(seed === undefined ? {} : { seed }),
        ...(path === undefined ? {} : { path }),
        reporter: (details) => {
          if (!details.failed) return;
          throw new Error(
            `${fc.defaultReportMessage(details) ?? 'model property failed'}\n` +
              `${
                details.errorInstance instanceof Error
                  ? details.errorInstance.message
                  : String(details.errorInstance)
              }\n` +
              `Replay: PHASEGATE_MODEL_SEED=${details.seed} ` +
              `PHASEGATE_MODEL_PATH=${details.counterexamplePath ?? ''} ` +
              `npx vitest run test/unit/recovery-model.test.ts`,
          );
        },
      },
    );
  }, 240_000);
});
