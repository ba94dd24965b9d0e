// The same dates with every fault of the plan injected, judged against the reference's data.
import type { Snapshot } from '../lib/chaos-compare.ts';
import { localJobs, startLocalScheduler } from '../lib/local-scheduler.ts';
import { compareWithReference } from './comparison.ts';
import type { ChaosContext } from './context.ts';
import { chaosDefinition } from './definition.ts';
import { functionFaults, type FaultPlan } from './fault-plan.ts';
import { readFinalState, waitForArrivals, waitForQuiet } from './final-state.ts';
import { countInjected } from './injected.ts';
import { injectLogicFaults } from './logic-faults.ts';
import { runDates, startPipeline, type SoakSetup } from './pipeline.ts';
import { report } from './report.ts';
import { publishPoison, startKiller, type Killer } from './run-faults.ts';
import { judge } from './verdict.ts';

/** Runs the dates under the plan's faults and prints the report; true when the soak failed. */
export async function faultyRun(
  ctx: ChaosContext,
  setup: SoakSetup & { plan: FaultPlan; reference: Snapshot },
): Promise<boolean> {
  const { definition, dates, plan } = setup;
  ctx.say(
    `\nchaos run: write failures ${JSON.stringify(plan.writeFailures)}; slow ` +
      `${plan.slowHandlers.map((s) => s.processor).join(', ')}; duplicating ${plan.duplicating.join(', ')}; ` +
      `${plan.sourceFaults.length} source faults; ${plan.kills} kills; ${plan.poisonCount} poison messages`,
  );
  const chaos = await startPipeline(ctx, {
    emulators: setup.emulators,
    dataset: setup.dataset,
    sourcePort: setup.sourcePort,
    label: 'faults',
    definition: chaosDefinition(),
    functionEnv: functionFaults(plan, definition),
    sourceFaults: plan.sourceFaults.map(({ label, ...rule }) => (void label, rule)),
  });
  // The scheduler's ticks finish what the runs left: retries and reconciling, not new runs.
  const scheduler = startLocalScheduler(
    localJobs(definition).filter((j) => j.name === 'auto-retry' || j.name === 'reconcile'),
    chaos.publisher,
    () => undefined,
  );
  let killer: Killer | undefined;
  try {
    const poison = await publishPoison(ctx, chaos.stack, definition, plan.poisonCount);
    killer = startKiller(ctx, chaos.stack, plan);
    const { statuses, forced } = await runDates(ctx, chaos, dates, plan.forceDate);
    await killer.stop();
    const logic = await injectLogicFaults(ctx, chaos, definition, plan, statuses, dates);
    await waitForArrivals(ctx, chaos, logic);
    await waitForQuiet(ctx, chaos, plan.shortDate);
    const state = await readFinalState(chaos, dates);
    const injected = countInjected(ctx, plan, state, chaos.source.faults.list());
    const comparison = await compareWithReference(definition, setup.reference, chaos, plan.shortDate, forced);
    const verdict = await judge(ctx, chaos, {
      dates,
      plan,
      state,
      injected,
      comparison,
      forced,
      poison,
      logic,
    });
    return report(ctx, chaos, {
      dates,
      statuses,
      reference: setup.reference,
      shortDate: plan.shortDate,
      forced,
      stale: comparison.stale,
      poison,
      state,
      verdict,
    });
  } finally {
    killer?.halt();
    scheduler.stop();
    await chaos.stop();
  }
}
