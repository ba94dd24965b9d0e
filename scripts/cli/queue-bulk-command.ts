import { InvalidArgumentError, type Command } from 'commander';
import { ERROR_KINDS } from '../../shared/errors/classify.ts';
import type { QueueActionDeps } from '../../shared/recovery/queue-actions.ts';
import {
  applyBulk,
  bulkFilter,
  previewBulk,
  type BulkAction,
  type BulkInterruptedError,
} from '../../shared/recovery/queue-bulk.ts';
import type { QueueEntry } from '../../shared/recovery/queue-entry.ts';
import type { QueueFilter } from '../../shared/recovery/queue-pages.ts';
import { QUEUE_STATUSES } from '../../shared/recovery/queue-status.ts';
import { table } from '../lib/table.ts';
import type { CliContext } from './context.ts';
import { parsePartition, parseStatus } from './option-parsers.ts';
import { UsageError } from './usage-error.ts';

const FILTERS = ['status', 'phase', 'processor', 'errorType', 'errorReason', 'from', 'to'] as const;

/** The queue filter's options as typed, and the action's own. */
type BulkOptions = Pick<QueueFilter, (typeof FILTERS)[number]> & {
  note: string;
  dryRun?: boolean;
  json?: boolean;
};
const flag = (name: string): string => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function parseErrorType(value: string): string {
  if (!(ERROR_KINDS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`"${value}" is not an error type: one of ${ERROR_KINDS.join(', ')}`);
  return value;
}

/** The filter options every bulk action takes (the same as `queue list`, and the error). */
export function withFilterOptions(command: Command): Command {
  return command
    .option(
      '--status <status>',
      `only entries of this status (one of ${QUEUE_STATUSES.join(', ')})`,
      parseStatus,
    )
    .option('--phase <phase>', 'only this phase (or "orchestrator")')
    .option('--processor <name>', 'only this processor')
    .option('--error-type <type>', `only this kind of last error (${ERROR_KINDS.join(', ')})`, parseErrorType)
    .option(
      '--error-reason <reason>',
      'only this reason of the last error (http_503, validation, dead_lettered, …)',
    )
    .option('--from <partition>', 'partitions from', parsePartition)
    .option('--to <partition>', 'partitions to', parsePartition)
    .option('--dry-run', 'say how many entries match and show a sample; change nothing')
    .option('--json', 'JSON output for scripts');
}

/** The filters given, in the words a person typed them. */
const describeFilters = (options: BulkOptions): string =>
  FILTERS.filter((name) => options[name] !== undefined)
    .map((name) => `${flag(name)} ${options[name]}`)
    .join(' ');

const sampleRow = (e: QueueEntry) => [
  e.requestId,
  e.partition,
  e.phase,
  e.processor,
  e.status,
  `${e.errorType}/${e.errorReason}`,
];

/** Ids a terminal can show: the first 20, then how many more. */
export const listed = (ids: readonly string[]): string =>
  ids.length <= 20 ? ids.join(', ') : `${ids.slice(0, 20).join(', ')} and ${ids.length - 20} more`;

const PAST: Record<BulkAction, string> = { retry: 'retried', resolve: 'resolved', discard: 'discarded' };

/**
 * `queue retry|resolve|discard` without an entry: every entry a filter matches. The count (and, in a
 * dry run, a sample) is said before anything changes; each entry is its own transaction and event.
 */
export async function runBulk(
  context: CliContext,
  deps: QueueActionDeps,
  action: BulkAction,
  options: BulkOptions,
  note: string,
): Promise<void> {
  const given = describeFilters(options);
  if (!given)
    throw new UsageError(
      `queue ${action} needs an entry id or at least one filter (${FILTERS.map(flag).join(', ')}); ` +
        `e.g. --status failed_permanent --from … --to …`,
    );
  if (options.from && options.to && deps.definition.scheme.compare(options.from, options.to) > 0)
    throw new UsageError(`--from ${options.from} is after --to ${options.to}`);
  const { status, phase, processor, errorType, errorReason, from, to } = options;
  const filter: QueueFilter = bulkFilter(action, {
    ...Object.fromEntries(
      Object.entries({ status, phase, processor, errorType, errorReason, from, to }).filter(
        ([, v]) => v !== undefined,
      ),
    ),
    compare: (a, b) => deps.definition.scheme.compare(a, b),
  });
  const statuses = filter.status ? [filter.status] : (filter.statuses ?? []);
  const { matched, sample } = await previewBulk(deps, filter);
  const what = `${matched} ${statuses.join('|')} entries match ${given}`;
  if (options.dryRun) {
    if (options.json) return context.print(JSON.stringify({ action, matched, sample }, null, 2));
    context.print(
      matched === 0
        ? `dry run: ${what}; nothing would change`
        : `dry run: ${what}; queue ${action} would act on each; the first ${sample.length}:`,
    );
    if (sample.length > 0)
      context.print(
        table(['entry', 'partition', 'phase', 'processor', 'status', 'error'], sample.map(sampleRow)),
      );
    return;
  }
  if (!options.json) context.print(`${what}: ${action.replace(/e$/, '')}ing each`);
  const result = await applyBulk(deps, action, filter, note);
  if (options.json) return context.print(JSON.stringify({ action, matched, ...result }, null, 2));
  const lines = [
    `${PAST[action]} ${result.done.length}${result.done.length > 0 ? `: ${listed(result.done)}` : ''}`,
  ];
  if (result.superseded.length > 0)
    lines.push(
      `${result.superseded.length} closed as superseded instead (a newer run of their partition exists): ${listed(result.superseded)}`,
    );
  for (const skipped of result.skipped.slice(0, 20))
    lines.push(`skipped ${skipped.requestId}: ${skipped.reason}`);
  if (result.skipped.length > 20) lines.push(`and ${result.skipped.length - 20} more skipped`);
  context.print(lines.join('\n'));
}

/** Filters given beside an entry id: refused, not ignored (which one did the person mean?). */
export function refuseFiltersWithEntry(entryId: string, options: BulkOptions): void {
  const given = describeFilters(options);
  if (given) throw new UsageError(`give an entry id (${entryId}) or filters (${given}), not both`);
}

/** A bulk action stopped part way: the error, and what was done before it (those no longer match). */
export function describeInterrupted(error: BulkInterruptedError): string {
  const { done, skipped } = error.result;
  return (
    `phasegate: ${error.message}\ndone: ${done.join(', ') || 'none'}` +
    (skipped.length > 0
      ? `\nskipped: ${skipped.map((s) => `${s.requestId} (${s.reason})`).join('; ')}`
      : '') +
    '\n'
  );
}
