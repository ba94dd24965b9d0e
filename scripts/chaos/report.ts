// The soak's report: JSON with --json, else a table of the faults and the lines that explain a
// failure. Failed means something was lost, duplicated, changed or left unexplained.
import { describeHeld } from '../../shared/ports/held-messages.ts';
import type { Difference, Snapshot } from '../lib/chaos-compare.ts';
import { table } from '../lib/table.ts';
import type { ChaosContext } from './context.ts';
import type { FinalState } from './final-state.ts';
import { KINDS } from './options.ts';
import type { Forced, Pipeline } from './pipeline.ts';
import type { Verdict } from './verdict.ts';

/** Prints the report; true when the soak failed. */
export function report(
  ctx: ChaosContext,
  p: Pipeline,
  run: {
    dates: readonly string[];
    statuses: ReadonlyMap<string, string>;
    reference: Snapshot;
    shortDate: string | null;
    forced: Forced | null;
    stale: number;
    poison: readonly string[];
    state: FinalState;
    verdict: Verdict;
  },
): boolean {
  const { say, tally } = ctx;
  const { shortDate, forced, verdict, state } = run;
  const { counted, needPerson, unexplained } = verdict;
  const byKind = (k: Difference['kind']) => counted.filter((d) => d.kind === k).length;
  const result = {
    seed: ctx.options.seed,
    dates: run.dates,
    runs: Object.fromEntries(run.statuses),
    faults: Object.fromEntries(tally.rows()),
    restarts: Object.fromEntries(p.stack.restarts),
    documents: {
      compared: [...run.reference.values()].reduce((s, m) => s + m.size, 0),
      lost: byKind('lost'),
      duplicated: byKind('duplicate'),
      different: byKind('different'),
    },
    shortDate,
    forced: forced ? { ...forced, staleDocuments: run.stale } : null,
    controlDlq: state.held,
    differences: counted.slice(0, 50),
    needingAPerson: needPerson.map((q) => ({ id: q.id, lastError: q.lastError })),
    unexplainedDates: unexplained,
  };
  if (ctx.options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  const rows = tally
    .rows()
    .sort(([a], [b]) => KINDS.indexOf(a) - KINDS.indexOf(b))
    .map(([kind, t]) => [kind, String(t.injected), String(t.recovered), String(t.person), String(t.lost)]);
  say(
    `\n${table(['fault', 'injected', 'recovered automatically', 'needing a person', 'lost'], rows)}\n` +
      '(dates for faults of a date, or of every date; messages for message faults)',
  );
  say(
    `\ndocuments compared with the reference: ${result.documents.compared}; lost ${result.documents.lost}, ` +
      `duplicated ${result.documents.duplicated}, different ${result.documents.different}` +
      (shortDate ? ` (not counting ${shortDate}, short by design)` : ''),
  );
  say(
    `poison messages recorded as failed_permanent: ${verdict.poisonRecorded}/${run.poison.length}; function restarts: ` +
      `${JSON.stringify(result.restarts)}`,
  );
  say(`control-dlq: ${describeHeld(state.held)}`);
  for (const d of counted.slice(0, 20)) say(`  ${d.kind}: ${d.collection}/${d.id}`);
  for (const q of needPerson) say(`  needs a person: ${q.id}: ${q.lastError}`);
  if (unexplained.length)
    say(
      `  dates neither SUCCESS with the reference's data nor explained by a queue entry: ${unexplained.join(', ')}`,
    );
  const lost = tally.rows().reduce((a, [, t]) => a + t.lost, 0);
  const failed =
    lost > 0 || counted.length > 0 || needPerson.length > 0 || state.held.count > 0 || unexplained.length > 0;
  say(
    failed
      ? '\nFAILED: something was lost, duplicated, changed or left unexplained'
      : `\nOK: lost 0; every date SUCCESS with the reference's ` +
          `data${shortDate ? ` but ${shortDate} (short data: NEEDS MANUAL FIX)` : ''}; every poison message ` +
          `failed_permanent; control-dlq empty`,
  );
  return failed;
}
