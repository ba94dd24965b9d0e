import { InvalidArgumentError, type Command } from 'commander';
import { PartitionKeySchema } from '../../shared/definition/partition.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { QUEUE_STATUSES, type QueueStatus } from '../../shared/recovery/queue-status.ts';
import { actionNeeded } from '../../shared/recovery/queue-policy.ts';
import {
  discardEntry,
  listQueue,
  requeueRange,
  resolveEntry,
  retryNow,
  showEntry,
  type QueueActionDeps,
} from '../../shared/recovery/queue-actions.ts';
import { table } from '../lib/table.ts';
import type { CliContext } from './context.ts';

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`"${value}" is not a whole number of entries`);
  return n;
}
import { UsageError } from './usage-error.ts';

/**
 * A partition key as every scheme writes one (letters, digits, `_`, `-`); whether the pipeline's
 * scheme takes it is checked before the command runs (`checkPartitionOptions`), once the pipeline is loaded.
 */
export function parsePartition(value: string): string {
  const parsed = PartitionKeySchema.safeParse(value);
  if (!parsed.success)
    throw new InvalidArgumentError(
      `"${value}" is not a partition: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
    );
  return value;
}

/** The options that name partitions. */
const PARTITION_OPTIONS = ['partition', 'from', 'to'] as const;

/** Refuses a partition option the pipeline's scheme does not take, naming the scheme. */
export async function checkPartitionOptions(
  context: CliContext,
  options: Record<string, unknown>,
): Promise<void> {
  const given = PARTITION_OPTIONS.filter((name) => typeof options[name] === 'string');
  if (given.length === 0) return;
  const { scheme } = (await context.pipeline()).pipeline.definition;
  for (const name of given) {
    const value = options[name] as string;
    const problem = scheme.problem(value);
    if (problem) throw new UsageError(`"${value}" is not a partition (${scheme.describe}): ${problem}`);
  }
}

function parseStatus(value: string): QueueStatus {
  if (!(QUEUE_STATUSES as readonly string[]).includes(value))
    throw new InvalidArgumentError(
      `"${value}" is not a queue status; use one of ${QUEUE_STATUSES.join(', ')}`,
    );
  return value as QueueStatus;
}

function requireNote(note: string | undefined): string {
  if (!note || !note.trim())
    throw new UsageError('a --note saying why is required: it is kept on the entry and in its event chain');
  return note.trim();
}

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
    return { definition, store: c.store, publisher: c.publisher, clock: systemClock };
  };

  queue
    .command('list')
    .description('list queue entries, oldest failure first')
    .option('--status <status>', `one of ${QUEUE_STATUSES.join(', ')}`, parseStatus)
    .option('--phase <phase>', 'a phase id (or "orchestrator")')
    .option('--processor <name>', 'a processor name')
    .option('--from <partition>', 'partitions from', parsePartition)
    .option('--to <partition>', 'partitions to', parsePartition)
    .option('--limit <n>', 'show at most n entries (the table: 1000 unless given; --json: all)', parseLimit)
    .option('--json', 'JSON output for scripts')
    .action(
      async (options: {
        status?: QueueStatus;
        phase?: string;
        processor?: string;
        from?: string;
        to?: string;
        limit?: number;
        json?: boolean;
      }) => {
        const { store } = await context.connection();
        const { scheme } = (await context.pipeline()).pipeline.definition;
        const { limit, ...filter } = options;
        const all = await listQueue(store, { ...filter, compare: (a, b) => scheme.compare(a, b) });
        const shown = limit ?? (options.json ? all.length : 1000);
        const entries = all.slice(0, shown);
        if (options.json) return context.print(JSON.stringify(entries, null, 2));
        if (entries.length === 0) return context.print('the queue is empty for these filters');
        context.print(
          table(
            ['entry', 'partition', 'phase', 'processor', 'status', 'action', 'retries', 'error'],
            entries.map((e) => [
              e.requestId,
              e.partition,
              e.phase,
              e.processor,
              e.status,
              actionNeeded(e.status, e.errorReason, e.awaitingGate),
              e.retryCount,
              `${e.errorType}: ${e.lastError}`,
            ]),
          ),
        );
        if (all.length > entries.length)
          context.print(
            `showing ${entries.length} of ${all.length} entries (--limit ${all.length} shows them all)`,
          );
      },
    );

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
      const entry = await retryNow(await deps(), entryId, requireNote(options.note));
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
      await resolveEntry(await deps(), entryId, requireNote(options.note));
      context.print(`${entryId}: resolved`);
    });

  queue
    .command('discard <entry>')
    .description('close an entry as discarded: nothing to recover')
    .requiredOption('--note <text>', 'why it is discarded')
    .action(async (entryId: string, options: { note: string }) => {
      await discardEntry(await deps(), entryId, requireNote(options.note));
      context.print(`${entryId}: discarded`);
    });

  queue
    .command('requeue')
    .description('every failed_permanent entry of a date range back to pending, with a fresh retry budget')
    .requiredOption('--from <partition>', 'first partition', parsePartition)
    .requiredOption('--to <partition>', 'last partition', parsePartition)
    .requiredOption('--note <text>', 'why')
    .option('--json', 'JSON output for scripts')
    .action(async (options: { from: string; to: string; note: string; json?: boolean }) => {
      const { scheme } = (await context.pipeline()).pipeline.definition;
      if (scheme.compare(options.from, options.to) > 0)
        throw new UsageError(`--from ${options.from} is after --to ${options.to}`);
      const requeued = await requeueRange(await deps(), options.from, options.to, requireNote(options.note));
      if (options.json) return context.print(JSON.stringify({ requeued }, null, 2));
      context.print(
        requeued.length === 0
          ? `no failed_permanent entries between ${options.from} and ${options.to}`
          : `requeued ${requeued.length}: ${requeued.join(', ')}`,
      );
    });
}
