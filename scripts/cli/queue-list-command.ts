import { InvalidArgumentError, type Command } from 'commander';
import { actionNeeded } from '../../shared/recovery/queue-policy.ts';
import { countQueue, pageQueue, queuePages, type QueueFilter } from '../../shared/recovery/queue-pages.ts';
import type { QueueEntry } from '../../shared/recovery/queue-entry.ts';
import type { QueueStatus } from '../../shared/recovery/queue-status.ts';
import { QUEUE_STATUSES } from '../../shared/recovery/queue-status.ts';
import { table } from '../lib/table.ts';
import type { CliContext } from './context.ts';
import { parsePartition, parseStatus } from './option-parsers.ts';

/** A table page unless --limit says otherwise: what a terminal can show. */
const TABLE_PAGE = 1000;

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`"${value}" is not a whole number of entries`);
  return n;
}

interface ListOptions {
  status?: QueueStatus;
  phase?: string;
  processor?: string;
  from?: string;
  to?: string;
  limit?: number;
  after?: string;
  json?: boolean;
}

const row = (e: QueueEntry) => [
  e.requestId,
  e.partition,
  e.phase,
  e.processor,
  e.status,
  actionNeeded(e.status, e.errorReason, e.awaitingGate),
  e.retryCount,
  `${e.errorType}: ${e.lastError}`,
];

/**
 * `queue list`: a page at a time in entry-id order (an entry id starts with its partition), with
 * the cursor of the next page; `--json` without `--limit`/`--after` prints every match (read page by page).
 */
export function registerQueueList(queue: Command, context: CliContext): void {
  queue
    .command('list')
    .description(
      'list queue entries a page at a time, in entry-id order (partition, then run, phase, processor)',
    )
    .option('--status <status>', `one of ${QUEUE_STATUSES.join(', ')}`, parseStatus)
    .option('--phase <phase>', 'a phase id (or "orchestrator")')
    .option('--processor <name>', 'a processor name')
    .option('--from <partition>', 'partitions from', parsePartition)
    .option('--to <partition>', 'partitions to', parsePartition)
    .option(
      '--limit <n>',
      `entries per page (the table: ${TABLE_PAGE} unless given; --json: all)`,
      parseLimit,
    )
    .option('--after <entry>', 'the page after this entry id (the last one of the previous page)')
    .option('--json', 'JSON output for scripts')
    .action(async ({ limit, after, json, ...options }: ListOptions) => {
      const { store } = await context.connection();
      const { scheme } = (await context.pipeline()).pipeline.definition;
      const filter: QueueFilter = { ...options, compare: (a, b) => scheme.compare(a, b) };
      if (json && limit === undefined && after === undefined) {
        const all: QueueEntry[] = [];
        for await (const page of queuePages(store, filter)) all.push(...page);
        return context.print(JSON.stringify(all, null, 2));
      }
      const page = await pageQueue(store, filter, { after, size: limit ?? TABLE_PAGE });
      if (json) return context.print(JSON.stringify(page.entries, null, 2));
      if (page.entries.length === 0)
        return context.print(
          after ? `no entries after ${after} for these filters` : 'the queue is empty for these filters',
        );
      context.print(
        table(
          ['entry', 'partition', 'phase', 'processor', 'status', 'action', 'retries', 'error'],
          page.entries.map(row),
        ),
      );
      // The total is one aggregate count without a range; with one it would mean reading every match.
      const total = filter.from || filter.to ? undefined : await countQueue(store, filter);
      const shown = `${page.entries.length} entries${total === undefined ? '' : ` of ${total}`}`;
      context.print(
        page.next
          ? `showing ${shown}; the next page: --after ${page.next}`
          : `showing ${shown}; the last page`,
      );
    });
}
