import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { createHttpClient } from '../../shared/lib/http-client.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import type { RunDoc } from '../../shared/orchestration/run-doc.ts';
import { checkCompleteness } from '../../shared/operations/completeness.ts';
import { healthSummary } from '../../shared/operations/health.ts';
import { describeHeld } from '../../shared/ports/held-messages.ts';
import { peekControlDlq } from '../lib/control-dlq.ts';
import { backfill } from '../lib/backfill.ts';
import type { CompletenessRules } from '../../shared/operations/completeness.ts';
import type { LoadedPipeline } from '../lib/pipeline-module.ts';
import { describeRun } from '../lib/watch-run.ts';
import { table } from '../lib/table.ts';
import type { CliContext } from './context.ts';
import { UsageError } from './usage-error.ts';
import { parsePartition } from './queue-commands.ts';

function rangeOf(loaded: LoadedPipeline, from: string, to: string): string[] {
  try {
    return loaded.pipeline.definition.scheme.range(from, to);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new InvalidArgumentError(`"${value}" is not a whole number from 1 to 64`);
  return n;
}

function range(loaded: LoadedPipeline, from: string, to: string): void {
  if (loaded.pipeline.definition.scheme.compare(from, to) > 0)
    throw new UsageError(`--from ${from} is after --to ${to}`);
}

/**
 * The pipeline's completeness rules, built as its reconciler builds them (with the settings of
 * the local stack's services when talking to it: the connection set them).
 */
function completenessOf(loaded: LoadedPipeline): CompletenessRules | undefined {
  try {
    return loaded.pipeline.completeness?.({ http: createHttpClient() });
  } catch (error) {
    throw new UsageError(
      `the completeness rules of pipeline ${loaded.name} cannot be built: ` +
        `${error instanceof Error ? error.message : String(error)} (or run \`npm start\` and talk to its stack)`,
    );
  }
}

export function registerOpsCommands(program: Command, context: CliContext): void {
  program
    .command('status')
    .description('runs as a table: the most recent, or those of a date, or one run in detail')
    .option('--partition <partition>', 'runs of this partition', parsePartition)
    .option('--run <runId>', 'one run: phases, history, last error')
    .option('--json', 'JSON output for scripts')
    .action(async (options: { partition?: string; run?: string; json?: boolean }) => {
      const { store } = await context.connection();
      if (options.run) {
        const run = (await store.get(COLLECTIONS.runs, options.run)) as RunDoc | undefined;
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
      const runs = docs
        .map((d) => d.data as unknown as RunDoc)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
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

  program
    .command('completeness')
    .description(
      'compare what must exist with what exists, unit by unit; --enqueue queues the missing pairs for retry',
    )
    .requiredOption('--from <partition>', 'first partition', parsePartition)
    .requiredOption('--to <partition>', 'last partition', parsePartition)
    .option('--enqueue', 'queue every missing (date, processor) for the auto-retry')
    .option('--json', 'JSON output for scripts')
    .action(async (options: { from: string; to: string; enqueue?: boolean; json?: boolean }) => {
      const loaded = await context.pipeline();
      range(loaded, options.from, options.to);
      const { store } = await context.connection();
      const rules = completenessOf(loaded);
      if (!rules)
        throw new UsageError(
          `pipeline ${loaded.name} declares no completeness rules (\`completeness\` in its entry module)`,
        );
      const report = await checkCompleteness(
        { definition: loaded.pipeline.definition, rules, store, clock: systemClock },
        { from: options.from, to: options.to, enqueue: options.enqueue ?? false },
      );
      if (options.json) return context.print(JSON.stringify(report, null, 2));
      context.print(`${report.from} .. ${report.to}: ${report.partitions} partition(s) with work`);
      for (const [phase, p] of Object.entries(report.perPhase))
        context.print(`  ${phase.padEnd(11)} ${p.complete} of ${p.total} complete`);
      if (report.missingPartitions.length > 0)
        context.print(`  first phase never ran: ${report.missingPartitions.join(', ')}`);
      for (const m of report.missing)
        context.print(
          `  missing ${m.partition} ${m.processor}: ${m.missing.map((x) => `${x.collection}/${x.id}`).join(', ')}`,
        );
      if (options.enqueue) context.print(`  enqueued ${report.enqueued.length} for retry`);
      for (const d of report.deferred)
        context.print(
          `  not enqueued: ${d.partition} ${d.phase}/${d.processor}: ${d.reason}; check again after it`,
        );
    });

  program
    .command('backfill')
    .description(
      'run every partition of a range that has work, each chain (the reference pipeline: a season) in order, ' +
        'chains in parallel; resumable after Ctrl-C',
    )
    .requiredOption('--from <partition>', 'first partition', parsePartition)
    .requiredOption('--to <partition>', 'last partition', parsePartition)
    .option('--concurrency <n>', 'chains at once', parsePositive, 4)
    .option('--json', 'JSON output for scripts (no progress bar)')
    .action(async (options: { from: string; to: string; concurrency: number; json?: boolean }) => {
      const loaded = await context.pipeline();
      range(loaded, options.from, options.to);
      const c = await context.connection();
      const { scheme } = loaded.pipeline.definition;
      const rules = completenessOf(loaded);
      const dates = rules?.partitions
        ? await rules.partitions(options.from, options.to)
        : rangeOf(loaded, options.from, options.to);
      const stateFile = join(
        loaded.root,
        '.phasegate',
        `backfill-${loaded.name}-${c.projectId}-${options.from}_${options.to}.json`,
      );
      let stopping = false;
      const onSigint = () => {
        stopping = true;
        process.stderr.write('\nstopping after the runs in flight; run the same command again to resume\n');
      };
      process.on('SIGINT', onSigint);
      const bar = options.json
        ? undefined
        : new SingleBar(
            {
              format: 'backfill [{bar}] {value}/{total} partitions | {ok} ok {bad} failed | {last}',
              hideCursor: true,
            },
            { barCompleteChar: '#', barIncompleteChar: '.', format: '' },
          );
      let ok = 0;
      let bad = 0;
      bar?.start(dates.length, 0, { ok, bad, last: '' });
      const result = await backfill(c.store, c.publisher, {
        dates,
        concurrency: options.concurrency,
        dependencyKey: (partition) => loaded.pipeline.operations?.backfillChain?.(partition) ?? partition,
        compare: (a, b) => scheme.compare(a, b),
        stateFile,
        stopped: () => stopping,
        onProgress: (e) => {
          if (e.status === 'SUCCESS') ok += 1;
          else bad += 1;
          bar?.increment(1, { ok, bad, last: `${e.partition} ${e.skipped ? 'already done' : e.status}` });
        },
      });
      bar?.stop();
      process.off('SIGINT', onSigint);
      if (options.json) context.print(JSON.stringify(result, null, 2));
      else {
        context.print(
          `${result.succeeded.length} succeeded, ${result.skipped.length} already done, ${result.failed.length} ` +
            `failed, ${result.blocked.length} blocked by an earlier ` +
            `failure${result.interrupted ? '; interrupted: run again to resume' : ''}`,
        );
        for (const f of result.failed)
          context.print(`  ${f.partition} ${f.status} ${f.runId ?? ''} ${f.lastError ?? ''}`);
      }
      if (result.failed.length > 0 || result.interrupted) process.exitCode = 1;
    });
}
