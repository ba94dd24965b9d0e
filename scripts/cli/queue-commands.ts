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
import type { CliContext } from './context.ts';

import { UsageError } from './usage-error.ts';

const requireEntryNote = (note: string | undefined): string =>
  requireNote(note, 'on the entry and in its event chain');

const str = (value: unknown): string =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';

/** Ids a terminal can show: the first 20, then how many more. */
const listed = (ids: readonly string[]): string =>
  ids.length <= 20 ? ids.join(', ') : `${ids.slice(0, 20).join(', ')} and ${ids.length - 20} more`;

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

  queue
    .command('retry <entry>')
    .description('retry now: re-publish the original request (for a person who fixed the cause)')
    .requiredOption('--note <text>', 'why; kept on the entry')
    .action(async (entryId: string, options: { note: string }) => {
      const entry = await retryNow(await deps(), entryId, requireEntryNote(options.note));
      context.print(
        entry.status === 'superseded'
          ? `${entryId}: not retried, closed as superseded: ${entry.note ?? ''}`
          : `${entryId}: retrying (retry ${entry.retryCount}); the request was re-published`,
      );
    });

  queue
    .command('resolve <entry>')
    .description('close an entry as succeeded: the cause was fixed another way')
    .requiredOption('--note <text>', 'how it was resolved')
    .action(async (entryId: string, options: { note: string }) => {
      await resolveEntry(await deps(), entryId, requireEntryNote(options.note));
      context.print(`${entryId}: resolved`);
    });

  queue
    .command('discard <entry>')
    .description('close an entry as discarded: nothing to recover')
    .requiredOption('--note <text>', 'why it is discarded')
    .action(async (entryId: string, options: { note: string }) => {
      await discardEntry(await deps(), entryId, requireEntryNote(options.note));
      context.print(`${entryId}: discarded`);
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
