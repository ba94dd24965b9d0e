import type { Command } from 'commander';
import { systemClock } from '../../shared/ports/clock.ts';
import { healthSummary } from '../../shared/operations/health.ts';
import type { DailyHealth } from '../../shared/operations/health-daily.ts';
import { describeHeld } from '../../shared/ports/held-messages.ts';
import { peekControlDlq } from '../lib/control-dlq.ts';
import { table } from '../lib/table.ts';
import type { CliContext } from './context.ts';
import { parsePositive } from './option-parsers.ts';

const orDash = (v: number | null) => (v === null ? '-' : String(v));

/** One line per day: what the dashboard's health charts draw (`-`: no reconcile tick sampled it). */
function dailyTable(daily: DailyHealth[]): string {
  return table(
    ['day', 'failures', 'dead letters', 'queue depth (max)', 'oldest open h (max)', 'control-dlq (max)'],
    daily.map((d) => [
      d.day,
      Object.values(d.failures).reduce((a, b) => a + b, 0),
      d.deadLetters,
      orDash(d.queueDepthMax),
      d.oldestOpenAgeSecondsMax === null ? '-' : (d.oldestOpenAgeSecondsMax / 3600).toFixed(1),
      orDash(d.controlDlqMax),
    ]),
  );
}

/** `health`: the daily summary an operator reads first, and what control-dlq holds. */
export function registerHealthCommand(program: Command, context: CliContext): void {
  program
    .command('health')
    .description(
      'a daily summary: runs by status, failure rate per processor, recovered automatically vs by hand, ' +
        'oldest open queue entry, what control-dlq holds (exit 1 when it holds anything)',
    )
    .option('--days <n>', 'look back this many days', parsePositive, 1)
    .option('--json', 'JSON output for scripts')
    .action(async (options: { days: number; json?: boolean }) => {
      const { store, projectId } = await context.connection();
      const [health, controlDlq] = await Promise.all([
        healthSummary(store, { now: systemClock.now(), days: options.days }),
        peekControlDlq(projectId).catch((error: unknown) => ({
          error: `could not peek control-dlq: ${error instanceof Error ? error.message : String(error)}`,
        })),
      ]);
      const summary = { ...health, controlDlq };
      // A message there is one the dead-letter recorder could not record: nothing else reports it.
      // Not knowing is not "empty": a failed peek exits 1 too.
      if ('error' in controlDlq || controlDlq.count > 0) process.exitCode = 1;
      if (options.json) return context.print(JSON.stringify(summary, null, 2));
      context.print(`control-dlq: ${'error' in controlDlq ? controlDlq.error : describeHeld(controlDlq)}`);
      context.print(`since ${summary.since}`);
      context.print(
        `runs: ${
          Object.entries(summary.runsByStatus)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || 'none'
        }`,
      );
      context.print(
        `recovered automatically ${summary.recovered.automatically}, by hand ${summary.recovered.byHand}; open queue ` +
          `entries ${summary.openQueueEntries}; needs manual fix ${summary.needsManualFix}`,
      );
      const oldest = summary.oldestOpenEntry;
      context.print(
        `oldest open queue entry: ${oldest ? `${oldest.requestId} (${oldest.status}, since ${oldest.firstFailedAt})` : 'none'}`,
      );
      if (summary.daily.length > 1) context.print(dailyTable(summary.daily));
      if (summary.processors.length > 0)
        context.print(
          table(
            ['processor', 'attempts', 'failures', 'failure rate'],
            summary.processors.map((p) => [
              p.processor,
              p.attempts,
              p.failures,
              `${(100 * p.failureRate).toFixed(1)}%`,
            ]),
          ),
        );
    });
}
