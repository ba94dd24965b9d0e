import { createHash } from 'node:crypto';
import { PermanentError } from '../errors/errors.ts';
import { relativeGameDate, type RunRequest } from './messages.ts';

/** A run request with its date: a relative one resolved, the fields that only served it gone. */
export type ResolvedRunRequest = Omit<RunRequest, 'relativeDays' | 'timeZone' | 'gameDate'> & { gameDate: string };

/**
 * Resolves `relativeDays` against when the request was first published (not when it arrives or is
 * retried): a scheduled "yesterday" dead-lettered overnight still means the day before its publish.
 */
export function resolveRunRequest(request: RunRequest, publishedAt: Date): ResolvedRunRequest {
  const { relativeDays, timeZone, gameDate, ...rest } = request;
  if (gameDate !== undefined) return { ...rest, gameDate };
  try {
    return { ...rest, gameDate: relativeGameDate(publishedAt, relativeDays ?? 0, timeZone) };
  } catch (error) {
    throw new PermanentError(`timeZone "${timeZone ?? ''}" is not a time zone`, { cause: error });
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
export function firstPublishedAt(publishTime: string | undefined, attributes: Record<string, string>, now: Date): Date {
  for (const candidate of [attributes.CloudPubSubDeadLetterSourceTopicPublishTime, publishTime]) {
    const at = candidate ? new Date(candidate) : undefined;
    if (at && !Number.isNaN(at.getTime())) return at;
  }
  return now;
}
