import type { Command } from 'commander';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { parseRuns, readRun } from '../../shared/orchestration/run-doc.ts';
import { describeRun } from '../lib/watch-run.ts';
import { table } from '../lib/table.ts';
import type { CliContext } from './context.ts';
import { UsageError } from './usage-error.ts';
import { parsePartition } from './option-parsers.ts';

/** `status` and `events`: the runs, one run in detail, and a run's event timeline. */
export function registerStatusCommands(program: Command, context: CliContext): void {
  program
    .command('status')
    .description('runs as a table: the most recent, or those of a date, or one run in detail')
    .option('--partition <partition>', 'runs of this partition', parsePartition)
    .option('--run <runId>', 'one run: phases, history, last error')
    .option('--json', 'JSON output for scripts')
    .action(async (options: { partition?: string; run?: string; json?: boolean }) => {
      const { store } = await context.connection();
      if (options.run) {
        const run = await readRun(store, options.run);
        if (!run) throw new UsageError(`no run "${options.run}"`);
        if (options.json) return context.print(JSON.stringify(run, null, 2));
        context.print(
          `${run.runId}  ${run.partition}  ${run.status}  (${run.triggerSource}, created ${run.createdAt})`,
        );
        context.print((await describeRun(store, run)).map((l) => `  ${l}`).join('\n'));
        if (run.lastError) context.print(`  lastError: ${run.lastError}`);
        if (run.supersededBy)
          context.print(`  superseded by run ${run.supersededBy}: that run decides ${run.partition} now`);
        for (const note of run.notes ?? []) context.print(`  note: ${note}`);
        context.print(`  history: ${run.statusHistory.map((h) => `${h.status} (${h.reason})`).join(' -> ')}`);
        return;
      }
      const docs = options.partition
        ? await store.query(COLLECTIONS.runs, {
            filters: [{ field: 'partition', op: '==', value: options.partition }],
          })
        : await store.query(COLLECTIONS.runs, {
            orderBy: { field: 'createdAt', direction: 'desc' },
            limit: 20,
          });
      const runs = parseRuns(docs).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      if (options.json) return context.print(JSON.stringify(runs, null, 2));
      if (runs.length === 0)
        return context.print(options.partition ? `no runs for ${options.partition}` : 'no runs yet');
      const rows = await Promise.all(
        runs.map(async (r) => [
          r.partition,
          r.runId,
          r.status,
          (await describeRun(store, r))
            .map((l) => {
              const [p, , n] = l.trim().split(/\s+/);
              return `${p} ${n}`;
            })
            .join(' '),
          r.updatedAt,
          r.lastError,
        ]),
      );
      context.print(table(['partition', 'run', 'status', 'phases', 'updated', 'last error'], rows));
    });

  program
    .command('events')
    .description("a run's event timeline, oldest first")
    .requiredOption('--run <runId>', 'the run')
    .option('--json', 'JSON output for scripts')
    .action(async (options: { run: string; json?: boolean }) => {
      const { store } = await context.connection();
      const events = (
        await store.query(COLLECTIONS.events, { filters: [{ field: 'runId', op: '==', value: options.run }] })
      )
        .map((e) => e.data)
        .sort((a, b) => String(a.at).localeCompare(String(b.at)));
      if (options.json) return context.print(JSON.stringify(events, null, 2));
      if (events.length === 0) return context.print(`no events for run "${options.run}"`);
      const s = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
      context.print(
        table(
          ['at', 'event', 'phase', 'processor', 'attempt', 'detail'],
          events.map((e) => [
            s(e.at),
            s(e.type),
            s(e.phase),
            s(e.processor),
            s(e.attempt),
            [s(e.errorType), s(e.message)].filter(Boolean).join(': '),
          ]),
        ),
      );
    });
}
