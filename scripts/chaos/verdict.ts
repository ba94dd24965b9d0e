// The verdict, per date: the data compared with the fault-free run, the current run's status,
// and what the queue says about it; then each fault kind settled by the dates or messages it hit.
import type { Difference } from '../lib/chaos-compare.ts';
import type { ChaosContext } from './context.ts';
import type { Comparison } from './comparison.ts';
import type { FaultPlan } from './fault-plan.ts';
import { messageEntryId, wasDeadLettered, type FinalState, type QueueRow } from './final-state.ts';
import type { Injected } from './injected.ts';
import type { LogicFaults } from './logic-faults.ts';
import type { Kind } from './options.ts';
import type { Forced, Pipeline } from './pipeline.ts';

type Outcome = 'recovered' | 'person' | 'lost';

export interface Verdict {
  counted: Difference[];
  /** Failed entries nobody expected, of a date's current run: each needs a person. */
  needPerson: QueueRow[];
  /** Dates neither SUCCESS with the reference's data nor explained by a queue entry. */
  unexplained: string[];
  poisonRecorded: number;
}

export async function judge(
  ctx: ChaosContext,
  p: Pipeline,
  run: {
    dates: readonly string[];
    plan: FaultPlan;
    state: FinalState;
    injected: Injected;
    comparison: Comparison;
    forced: Forced | null;
    poison: string[];
    logic: LogicFaults;
  },
): Promise<Verdict> {
  const { count } = ctx.tally;
  const { dates, plan, injected, forced, logic } = run;
  const { queue, current, allRuns } = run.state;
  const { counted, datesOf, stale } = run.comparison;
  const { shortDate } = plan;
  // An entry of the date's current run (or of its run requests), not of a run it superseded.
  const ofCurrent = (q: QueueRow) => q.runId === null || q.runId === current.get(q.partition ?? '')?.runId;
  const needsPerson = (d: string) =>
    queue.some((q) => q.partition === d && q.status === 'failed_permanent' && ofCurrent(q));
  const outcomeOf = (d: string): Outcome => {
    const r = current.get(d);
    const broken = counted.some((x) => datesOf(x).includes(d)) || (forced?.gameDate === d && stale > 0);
    if (r?.status === 'SUCCESS' && !broken) return 'recovered';
    return needsPerson(d) && !(r?.status === 'SUCCESS') ? 'person' : 'lost';
  };
  const outcomes = new Map(dates.map((d) => [d, outcomeOf(d)]));
  // Faults of one date are judged by that date; faults of any date (kills, duplicates, slow
  // handlers) by every date but the short one.
  const spread: Kind[] = ['slow handler', 'duplicate delivery', 'process kill'];
  for (const kind of spread)
    if (ctx.tally.injected(kind) > 0) for (const d of plan.others) count(kind, outcomes.get(d)!);
  const writeDates = new Set(
    injected.writeFailed.flatMap((e) => (e.partition && e.partition !== shortDate ? [e.partition] : [])),
  );
  for (const d of writeDates) count('write failure', outcomes.get(d)!);
  for (const f of plan.sourceFaults) {
    if (f.label === 'short data' || !injected.source.get(f)) continue;
    for (const d of (f.dates ?? []).filter((x) => x !== shortDate)) count(f.label, outcomes.get(d)!);
  }
  if (shortDate) {
    // It can only need a person: recovered would mean a gate passed short data, SUCCESS would be a lie.
    const entry = queue.find(
      (q) => q.partition === shortDate && q.status === 'failed_permanent' && q.errorReason === 'gate_failed',
    );
    count('short data', current.get(shortDate)?.status !== 'SUCCESS' && entry ? 'person' : 'lost');
  }
  if (forced) {
    const old = allRuns.find((r) => r.runId === forced.oldRunId);
    count('forced second run', 'injected');
    const replaced = old?.status === 'SUPERSEDED' && current.get(forced.gameDate)?.runId === forced.newRunId;
    count('forced second run', replaced ? outcomes.get(forced.gameDate)! : 'lost');
  }
  if (logic.lateRequestId) {
    // Recovered: the recorder saw it (a dead_lettered event) and reopened nothing.
    const seen = await wasDeadLettered(p.store, logic.lateRequestId);
    const reopened = queue.some((q) => q.id === logic.lateRequestId && q.status !== 'succeeded');
    count('late dead letter', seen && !reopened ? 'recovered' : 'lost');
  }
  const { relativeDate } = plan;
  if (relativeDate && logic.relativeEntry) {
    const entry = queue.find((q) => q.id === logic.relativeEntry);
    const rerun = allRuns.some(
      (r) =>
        r.partition === relativeDate &&
        r.triggerSource === 'scheduled' &&
        r.runId === current.get(relativeDate)?.runId,
    );
    count(
      'dead-lettered scheduled request',
      entry?.status === 'succeeded' && entry.partition === relativeDate && rerun
        ? outcomes.get(relativeDate)!
        : 'lost',
    );
  }
  const recordedPermanent = (ids: string[]) =>
    ids.filter((id) => queue.some((q) => q.id === messageEntryId(id) && q.status === 'failed_permanent'))
      .length;
  const messageFaults: [Kind, string[]][] = [
    ['poison message', run.poison],
    ['oversized poison', logic.oversized],
    ['id with /', logic.slashed],
  ];
  for (const [kind, ids] of messageFaults) {
    count(kind, 'person', recordedPermanent(ids));
    count(kind, 'lost', ids.length - recordedPermanent(ids));
  }
  const expectedEntries = new Set(messageFaults.flatMap(([, ids]) => ids.map(messageEntryId)));
  const needPerson = queue.filter(
    (q) =>
      !expectedEntries.has(q.id) &&
      q.partition !== shortDate &&
      q.status === 'failed_permanent' &&
      ofCurrent(q),
  );
  return {
    counted,
    needPerson,
    unexplained: dates.filter((d) => outcomes.get(d) === 'lost'),
    poisonRecorded: recordedPermanent(run.poison),
  };
}
