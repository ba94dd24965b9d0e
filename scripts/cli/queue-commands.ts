import type { Command } from 'commander';
import { systemClock } from '../../shared/ports/clock.ts';
import { withExpiry } from '../../shared/store/retention.ts';
import { actionNeeded } from '../../shared/recovery/queue-policy.ts';
import {
  discardEntry,
  requeueFilter,
  requeueRange,
  resolveEntry,
  retryNow,
  showEntry,
  type QueueActionDeps,
} from '../../shared/recovery/queue-actions.ts';
import { countQueue, pageQueue } from '../../shared/recovery/queue-pages.ts';
import { table } from '../lib/table.ts';
import { parsePartition, requireNote } from './option-parsers.ts';
import { registerQueueList } from './queue-list-command.ts';
import { listed, refuseFiltersWithEntry, runBulk, withFilterOptions } from './queue-bulk-command.ts';
import { BULK_ACTIONS, type BulkAction } from '../../shared/recovery/queue-bulk.ts';
import type { CliContext } from './context.ts';
import type { QueueEntry } from '../../shared/recovery/queue-entry.ts';

import { UsageError } from './usage-error.ts';

const requireEntryNote = (note: string | undefined): string =>
  requireNote(note, 'on the entry and in its event chain');

const str = (value: unknown): string =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';

/** `permanent: bad data`, or `pending -> retrying: manual retry: fixed upstream`. */
function eventDetail(e: Record<string, unknown>): string {
  const transition = str(e.to) ? `${str(e.from)} -> ${str(e.to)}` : '';
  return [str(e.errorType), transition, str(e.message)].filter(Boolean).join(': ');
}

export function registerQueueCommands(program: Command, context: CliContext): void {
  const queue = program
    .command('queue')
    .description('the failed-processor queue: list, show, retry, resolve, discard, requeue');
  const deps = async (): Promise<QueueActionDeps> => {
    const c = await context.connection();
    const { definition } = (await context.pipeline()).pipeline;
    // The actions' events expire as the functions' do (the definition's retention).
    const store = withExpiry(c.store, definition.retention, systemClock);
    return { definition, store, publisher: c.publisher, clock: systemClock };
  };

  registerQueueList(queue, context);

  queue
    .command('show <entry>')
    .description('one entry with its chain of attempts')
    .option('--json', 'JSON output for scripts')
    .action(async (entryId: string, options: { json?: boolean }) => {
      const { store } = await context.connection();
      const { entry, events } = await showEntry(store, entryId);
      if (options.json) return context.print(JSON.stringify({ entry, events }, null, 2));
      context.print(
        `${entry.requestId}\n  status     ${entry.status} ` +
          `(${actionNeeded(entry.status, entry.errorReason, entry.awaitingGate)})\n  run        ${entry.runId ?? '-'}  ` +
          `date ${entry.partition ?? '-'}  phase ${entry.phase}  processor ${entry.processor ?? '-'}\n  error      ` +
          `${entry.errorType} / ${entry.errorReason}: ${entry.lastError}\n  retries    ${entry.retryCount}  next ` +
          `${entry.nextRetryAt ?? '-'}  first failure ` +
          `${entry.firstFailedAt}${entry.note ? `\n  note       ${entry.note}` : ''}\n\nattempts and transitions:`,
      );
      context.print(
        table(
          ['at', 'event', 'attempt', 'detail'],
          events.map((e) => [str(e.at), str(e.type), str(e.attempt), eventDetail(e)]),
        ),
      );
    });

  const single = { retry: retryNow, resolve: resolveEntry, discard: discardEntry };
  const said = (action: BulkAction, entry: QueueEntry): string =>
    action !== 'retry'
      ? `${entry.requestId}: ${entry.status === 'succeeded' ? 'resolved' : 'discarded'}`
      : entry.status === 'superseded'
        ? `${entry.requestId}: not retried, closed as superseded: ${entry.note ?? ''}`
        : `${entry.requestId}: retrying (retry ${entry.retryCount}); the request was re-published`;
  const descriptions: Record<BulkAction, [string, string]> = {
    retry: [
      'retry now: re-publish the original request (for a person who fixed the cause)',
      'why; kept on the entry',
    ],
    resolve: ['close as succeeded: the cause was fixed another way', 'how it was resolved'],
    discard: ['close as discarded: nothing to recover', 'why it is discarded'],
  };
  for (const action of BULK_ACTIONS)
    withFilterOptions(
      queue
        .command(`${action} [entry]`)
        .description(
          `${descriptions[action][0]}; without an entry, every entry the filters match (try --dry-run)`,
        )
        .requiredOption('--note <text>', descriptions[action][1]),
    ).action(async (entryId: string | undefined, options: Parameters<typeof runBulk>[3]) => {
      const note = requireEntryNote(options.note);
      if (entryId === undefined) return runBulk(context, await deps(), action, options, note);
      refuseFiltersWithEntry(entryId, options);
      if (options.dryRun)
        throw new UsageError('--dry-run is for filters: `queue show <entry>` shows one entry');
      const entry = await single[action](await deps(), entryId, note);
      context.print(options.json ? JSON.stringify(entry, null, 2) : said(action, entry));
    });

  queue
    .command('requeue')
    .description('every failed_permanent entry of a date range back to pending, with a fresh retry budget')
    .requiredOption('--from <partition>', 'first partition', parsePartition)
    .requiredOption('--to <partition>', 'last partition', parsePartition)
    .requiredOption('--note <text>', 'why')
    .option('--dry-run', 'say how many entries the range holds and show a sample; change nothing')
    .option('--json', 'JSON output for scripts')
    .action(async (options: { from: string; to: string; note: string; dryRun?: boolean; json?: boolean }) => {
      const { scheme } = (await context.pipeline()).pipeline.definition;
      if (scheme.compare(options.from, options.to) > 0)
        throw new UsageError(`--from ${options.from} is after --to ${options.to}`);
      const note = requireEntryNote(options.note);
      const d = await deps();
      const range = `between ${options.from} and ${options.to}`;
      // How many, said before anything changes (the range is read page by page, never cut).
      const matched = await countQueue(d.store, requeueFilter(d, options.from, options.to));
      if (options.dryRun) {
        const sample = (await pageQueue(d.store, requeueFilter(d, options.from, options.to), { size: 10 }))
          .entries;
        const ids = sample.map((e) => e.requestId);
        if (options.json) return context.print(JSON.stringify({ matched, sample: ids }, null, 2));
        return context.print(
          `dry run: ${matched} failed_permanent entries ${range} would be requeued` +
            (ids.length > 0 ? `; the first ${ids.length}: ${ids.join(', ')}` : ''),
        );
      }
      if (!options.json) context.print(`${matched} failed_permanent entries ${range}: requeueing`);
      const requeued = await requeueRange(d, options.from, options.to, note);
      if (options.json) return context.print(JSON.stringify({ matched, requeued }, null, 2));
      const skipped = matched - requeued.length;
      context.print(
        requeued.length === 0 && matched === 0
          ? `no failed_permanent entries ${range}`
          : `requeued ${requeued.length}: ${listed(requeued)}` +
              (skipped > 0
                ? `\n${skipped} not requeued: no request to re-publish (discard them with a note)`
                : ''),
      );
    });
}
