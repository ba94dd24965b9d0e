import { createHash } from 'node:crypto';
import { PermanentError } from '../errors/errors.ts';
import type { PartitionScheme } from '../definition/partition.ts';
import { checkPartition } from './decode.ts';
import type { RunRequest } from './messages.ts';

/** A run request with its partition: a relative one resolved, the fields that only served it gone. */
export type ResolvedRunRequest = Omit<RunRequest, 'relative' | 'timeZone' | 'partition'> & {
  partition: string;
};

/** The partition `n` partitions from the one `instant` falls in, in `timeZone` (-1: the one before). */
export function relativePartition(
  scheme: PartitionScheme,
  instant: Date,
  n: number,
  timeZone = 'UTC',
): string {
  return scheme.shift(scheme.containing(instant, timeZone), n);
}

/**
 * Resolves `relative` against when the request was first published (not when it arrives or is
 * retried): a scheduled "yesterday" dead-lettered overnight still means the day before its publish.
 * The key, given or resolved, must be one of the pipeline's scheme: anything else is permanent.
 */
export function resolveRunRequest(
  scheme: PartitionScheme,
  request: RunRequest,
  publishedAt: Date,
): ResolvedRunRequest {
  const { relative, timeZone, partition, ...rest } = request;
  if (partition !== undefined) return { ...rest, partition: checkPartition(scheme, partition, 'RunRequest') };
  try {
    return { ...rest, partition: relativePartition(scheme, publishedAt, relative ?? 0, timeZone) };
  } catch (error) {
    throw new PermanentError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/**
 * The queue key of a run request: its resolved content, canonical (keys sorted). The original
 * relative request, its resolved retry and any redelivery of either find the same entry.
 */
export function runRequestKey(resolved: ResolvedRunRequest): string {
  const record = resolved as Record<string, unknown>;
  const canonical = JSON.stringify(record, Object.keys(record).sort());
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export const runRequestEntryId = (key: string): string => `run-request-${key}`;

/** When a message was first published: the dead-letter attribute, else its own publish time, else now. */
export function firstPublishedAt(
  publishTime: string | undefined,
  attributes: Record<string, string>,
  now: Date,
): Date {
  for (const candidate of [attributes.CloudPubSubDeadLetterSourceTopicPublishTime, publishTime]) {
    const at = candidate ? new Date(candidate) : undefined;
    if (at && !Number.isNaN(at.getTime())) return at;
  }
  return now;
}
