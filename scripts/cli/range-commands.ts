import { join } from 'node:path';
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { createHttpClient } from '../../shared/lib/http-client.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { withExpiry } from '../../shared/store/retention.ts';
import { checkCompleteness } from '../../shared/operations/completeness.ts';
import { backfill } from '../lib/backfill.ts';
import type { CompletenessRules } from '../../shared/operations/completeness.ts';
import type { LoadedPipeline } from '../lib/pipeline-module.ts';
import type { CliContext } from './context.ts';
import { UsageError } from './usage-error.ts';
import { backfillFigures, formatEta } from '../../shared/operations/backfill-progress.ts';
import { parsePartition } from './option-parsers.ts';
import { parsePositive } from './option-parsers.ts';

/** Every partition from `from` to `to`, by the pipeline's scheme. */
function partitionsBetween(loaded: LoadedPipeline, from: string, to: string): string[] {
  try {
    return loaded.pipeline.definition.scheme.range(from, to);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function checkRange(loaded: LoadedPipeline, from: string, to: string): void {
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

/** `completeness` and `backfill`: what a range of partitions lacks, and running the range. */
export function registerRangeCommands(program: Command, context: CliContext): void {
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
      checkRange(loaded, options.from, options.to);
      const { store } = await context.connection();
      const rules = completenessOf(loaded);
      if (!rules)
        throw new UsageError(
          `pipeline ${loaded.name} declares no completeness rules (\`completeness\` in its entry module)`,
        );
      const report = await checkCompleteness(
        {
          definition: loaded.pipeline.definition,
          rules,
          // What it enqueues writes events, which expire as the functions' do.
          store: withExpiry(store, loaded.pipeline.definition.retention, systemClock),
          clock: systemClock,
        },
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
      checkRange(loaded, options.from, options.to);
      const c = await context.connection();
      const { scheme } = loaded.pipeline.definition;
      const rules = completenessOf(loaded);
      const dates = rules?.partitions
        ? await rules.partitions(options.from, options.to)
        : partitionsBetween(loaded, options.from, options.to);
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
              format:
                'backfill [{bar}] {value}/{total} partitions | {ok} ok {bad} failed | ETA {eta} | {last}',
              hideCursor: true,
            },
            { barCompleteChar: '#', barIncompleteChar: '.', format: '' },
          );
      // The figures the dashboard shows of the same backfill (backfills/{from}_{to}): one reading of them.
      bar?.start(dates.length, 0, { ok: 0, bad: 0, eta: '?', last: '' });
      const result = await backfill(c.store, c.publisher, {
        dates,
        concurrency: options.concurrency,
        dependencyKey: (partition) => loaded.pipeline.operations?.backfillChain?.(partition) ?? partition,
        compare: (a, b) => scheme.compare(a, b),
        stateFile,
        range: { from: options.from, to: options.to },
        onProgressError: (error) =>
          process.stderr.write(
            `\nthe dashboard's progress of this backfill was not written ` +
              `(${error instanceof Error ? error.message : String(error)}); it goes on\n`,
          ),
        stopped: () => stopping,
        onProgress: (_event, progress) => {
          const figures = backfillFigures(progress, systemClock.now());
          bar?.update(figures.done, {
            ok: progress.succeeded + progress.skipped,
            bad: figures.failed,
            eta: formatEta(figures.etaSeconds),
            last: progress.last ?? '',
          });
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
