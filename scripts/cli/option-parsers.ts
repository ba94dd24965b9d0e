import { InvalidArgumentError } from 'commander';
import { PartitionKeySchema } from '../../shared/definition/partition.ts';
import { QUEUE_STATUSES, type QueueStatus } from '../../shared/recovery/queue-status.ts';
import type { CliContext } from './context.ts';
import { UsageError } from './usage-error.ts';

/** A count of days or of chains at once (`--days`, `--concurrency`): a whole number from 1 to 64. */
export function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new InvalidArgumentError(`"${value}" is not a whole number from 1 to 64`);
  return n;
}

/**
 * Not for `--env`: the project and authentication deploy sets, what Cloud Run sets, and fault
 * injection (tests only: it must never reach a deployed function).
 */
const RESERVED_ENV =
  /^(GOOGLE_CLOUD_PROJECT|PHASEGATE_AUTH|PHASEGATE_PUSH_.*|PHASEGATE_FAULTS|DASHBOARD_.*|K_.*|PORT|FUNCTION_.*)$/;

export function parseEnvPair(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(value);
  if (!match)
    throw new InvalidArgumentError(
      `"${value}" is not NAME=value (NAME in capitals, e.g. SOURCE_API_URL=https://stats.example.com)`,
    );
  if (RESERVED_ENV.test(match[1]!))
    throw new InvalidArgumentError(
      `${match[1]} is set by deploy or Cloud Run (project, authentication), or is for tests only (fault ` +
        `injection): it cannot be given with --env`,
    );
  return { ...previous, [match[1]!]: match[2]! };
}

/** A reader is any IAM member Cloud Run can admit: `user:`, `group:`, `domain:`, `serviceAccount:`. */
export function parseReader(value: string, previous: string[] = []): string[] {
  if (!/^(user|group|serviceAccount|domain):\S+$/.test(value))
    throw new InvalidArgumentError(
      `"${value}" is not an IAM member such as user:you@example.com, group:data@example.com or domain:example.com`,
    );
  return [...previous, value];
}

/**
 * An actor is one account: the dashboard sees the caller's email in its token, never the groups
 * or domain it belongs to, so a group or domain actor could never act.
 */
export function parseActor(value: string, previous: string[] = []): string[] {
  const match = /^(user|group|serviceAccount|domain):(\S+)$/.exec(value);
  if (!match)
    throw new InvalidArgumentError(
      `"${value}" is not an IAM member such as user:oncall@example.com or serviceAccount:bot@project.iam.gserviceaccount.com`,
    );
  if (match[1] === 'group' || match[1] === 'domain') {
    throw new InvalidArgumentError(
      `"${value}": an actor must be a user: or serviceAccount: (an ID token names one account, not its ${match[1]}); ` +
        `give the ${match[1]} read with --dashboard-reader and each person who may act with --dashboard-actor user:...`,
    );
  }
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(match[2]!))
    throw new InvalidArgumentError(`"${value}" does not name an email address`);
  return [...previous, value];
}

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

export function parseStatus(value: string): QueueStatus {
  if (!(QUEUE_STATUSES as readonly string[]).includes(value))
    throw new InvalidArgumentError(
      `"${value}" is not a queue status; use one of ${QUEUE_STATUSES.join(', ')}`,
    );
  return value as QueueStatus;
}

/** A `--note` that says why (blank is refused): it is kept `keptWhere`. */
export function requireNote(note: string | undefined, keptWhere: string): string {
  if (!note?.trim()) throw new UsageError(`a --note saying why is required: it is kept ${keptWhere}`);
  return note.trim();
}
