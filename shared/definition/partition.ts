import { z } from 'zod';

/**
 * A partition is the unit a pipeline runs for: a day, an ISO week, a month, or a key of the
 * pipeline's own (a module and year, a region). Every kit message, document and command names one
 * by its key; the scheme says which keys exist, how they are ordered, which one an instant falls in
 * (for scheduled, relative requests) and which come next (for ranges and dependencies).
 */
export interface PartitionScheme {
  readonly kind: 'daily' | 'weekly' | 'monthly' | 'custom';
  /** What a key looks like, for messages: `a day (YYYY-MM-DD)`. */
  readonly describe: string;
  /** The key, or an error that names the scheme and what a key looks like. */
  parse(key: string): string;
  /** The problem with `key`, or null when it is a key of this scheme. */
  problem(key: string): string | null;
  compare(a: string, b: string): number;
  /** The key `n` partitions after `key` (before it when `n` is negative). */
  shift(key: string, n: number): string;
  /** The partition `instant` falls in, in `timeZone`. */
  containing(instant: Date, timeZone: string): string;
  /** Every key from `from` to `to`, both included, in order. */
  range(from: string, to: string): string[];
}

/**
 * A scheme of the pipeline's own. Keys must also be valid as document ids and run ids (letters,
 * digits, `_` and `-`, at most 80). Without `shift` a pipeline cannot ask for ranges or earlier
 * partitions; without `containing` it cannot use relative (scheduled) requests: both fail with an
 * error that says so.
 */
export interface CustomPartitionScheme {
  kind: 'custom';
  /** What a key looks like, for messages: `a module and year (reports-2024)`. */
  describe: string;
  schema: z.ZodType<string>;
  /** The order of keys; string order when absent. */
  compare?: (a: string, b: string) => number;
  shift?: (key: string, n: number) => string;
  containing?: (instant: Date, timeZone: string) => string;
}

export type PartitionSchemeInput = 'daily' | 'weekly' | 'monthly' | CustomPartitionScheme;

/** Every key, whatever its scheme, names documents and runs: this alphabet keeps it a valid id. */
export const PartitionKeySchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/,
    'a partition key: 1-80 letters, digits, _ or -, starting with a letter or digit',
  );

/** A range longer than this is a mistake (a typo in a year), not a backfill. */
export const MAX_RANGE = 5000;

export class PartitionError extends Error {
  override readonly name = 'PartitionError';
}

const DAY_MS = 86_400_000;

/** The calendar day `YYYY-MM-DD` of `instant` in `timeZone` (an IANA name). */
export function localDay(instant: Date, timeZone: string): string {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    }).formatToParts(instant);
  } catch {
    throw new PartitionError(
      `unknown time zone "${timeZone}" (an IANA name such as UTC or America/New_York)`,
    );
  }
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

const dayProblem = (key: string): string | null => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(key)) return 'expected YYYY-MM-DD';
  const date = new Date(`${key}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === key
    ? null
    : 'not a calendar date';
};
const dayMs = (key: string) => Date.parse(`${key}T00:00:00Z`);
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Monday of ISO week 1 of `year`: the week with the year's first Thursday. */
function isoWeekOneMonday(year: number): number {
  const jan4 = Date.UTC(year, 0, 4);
  const weekday = (new Date(jan4).getUTCDay() + 6) % 7; // Monday 0
  return jan4 - weekday * DAY_MS;
}
function isoWeekOf(ms: number): string {
  const weekday = (new Date(ms).getUTCDay() + 6) % 7;
  const thursday = ms - weekday * DAY_MS + 3 * DAY_MS;
  const year = new Date(thursday).getUTCFullYear();
  const week = Math.floor((thursday - isoWeekOneMonday(year)) / (7 * DAY_MS)) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}
function weekMonday(key: string): number {
  const year = Number(key.slice(0, 4));
  return isoWeekOneMonday(year) + (Number(key.slice(6)) - 1) * 7 * DAY_MS;
}
const weekProblem = (key: string): string | null => {
  if (!/^\d{4}-W\d{2}$/.test(key)) return 'expected an ISO week YYYY-Www (2026-W05)';
  const week = Number(key.slice(6));
  return week >= 1 && isoWeekOf(weekMonday(key)) === key
    ? null
    : `${key.slice(0, 4)} has no ISO week ${week}`;
};

const monthProblem = (key: string): string | null => {
  if (!/^\d{4}-\d{2}$/.test(key)) return 'expected YYYY-MM';
  const month = Number(key.slice(5));
  return month >= 1 && month <= 12 ? null : 'not a month (01-12)';
};
const monthIndex = (key: string) => Number(key.slice(0, 4)) * 12 + Number(key.slice(5)) - 1;
const monthOf = (index: number) =>
  `${String(Math.floor(index / 12)).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`;

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function build(
  kind: PartitionScheme['kind'],
  describe: string,
  parts: {
    problem: (key: string) => string | null;
    compare: (a: string, b: string) => number;
    shift?: (key: string, n: number) => string;
    containing?: (instant: Date, timeZone: string) => string;
  },
): PartitionScheme {
  const parse = (key: string): string => {
    const problem = scheme.problem(key);
    if (problem)
      throw new PartitionError(`"${key}" is not a partition of this pipeline (${describe}): ${problem}`);
    return key;
  };
  const scheme: PartitionScheme = {
    kind,
    describe,
    problem(key) {
      const id = PartitionKeySchema.safeParse(key);
      if (!id.success) return id.error.issues[0]?.message ?? 'not a partition key';
      return parts.problem(key);
    },
    parse,
    compare: parts.compare,
    shift(key, n) {
      if (!parts.shift)
        throw new PartitionError(
          `this pipeline's partitions (${describe}) declare no shift: it cannot step from ${key} to another partition`,
        );
      return parse(parts.shift(parse(key), n));
    },
    containing(instant, timeZone) {
      if (!parts.containing)
        throw new PartitionError(
          `this pipeline's partitions (${describe}) declare no containing(): relative requests need it; name the partition instead`,
        );
      return parse(parts.containing(instant, timeZone));
    },
    range(from, to) {
      parse(from);
      parse(to);
      if (parts.compare(from, to) > 0)
        throw new PartitionError(`the range starts after it ends: ${from} is after ${to}`);
      const keys = [from];
      while (parts.compare(keys.at(-1)!, to) < 0) {
        if (keys.length >= MAX_RANGE)
          throw new PartitionError(`the range ${from} … ${to} holds more than ${MAX_RANGE} partitions`);
        const next = scheme.shift(keys.at(-1)!, 1);
        if (parts.compare(next, keys.at(-1)!) <= 0)
          throw new PartitionError(`shift(${keys.at(-1)!}, 1) gave ${next}, which is not after it`);
        keys.push(next);
      }
      if (keys.at(-1) !== to)
        throw new PartitionError(`stepping from ${from} passes ${to} without reaching it`);
      return keys;
    },
  };
  return scheme;
}

const DAILY = build('daily', 'a day, YYYY-MM-DD', {
  problem: dayProblem,
  compare: byString,
  shift: (key, n) => dayOf(dayMs(key) + n * DAY_MS),
  containing: localDay,
});
const WEEKLY = build('weekly', 'an ISO week, YYYY-Www', {
  problem: weekProblem,
  compare: byString,
  shift: (key, n) => isoWeekOf(weekMonday(key) + n * 7 * DAY_MS),
  containing: (instant, timeZone) => isoWeekOf(dayMs(localDay(instant, timeZone))),
});
const MONTHLY = build('monthly', 'a month, YYYY-MM', {
  problem: monthProblem,
  compare: byString,
  shift: (key, n) => monthOf(monthIndex(key) + n),
  containing: (instant, timeZone) => localDay(instant, timeZone).slice(0, 7),
});

/** The scheme a definition declares. */
export function partitionScheme(input: PartitionSchemeInput): PartitionScheme {
  if (input === 'daily') return DAILY;
  if (input === 'weekly') return WEEKLY;
  if (input === 'monthly') return MONTHLY;
  const custom = input;
  return build('custom', custom.describe, {
    problem: (key) => {
      const result = custom.schema.safeParse(key);
      return result.success
        ? null
        : (result.error.issues[0]?.message ?? "refused by the pipeline's partition schema");
    },
    compare: custom.compare ?? byString,
    ...(custom.shift ? { shift: custom.shift } : {}),
    ...(custom.containing ? { containing: custom.containing } : {}),
  });
}

/** The definition's `partition` field: a built-in scheme's name or a custom scheme. */
export const PartitionSchemeInputSchema = z.union([
  z.enum(['daily', 'weekly', 'monthly']),
  z
    .object({
      kind: z.literal('custom'),
      describe: z.string().min(1),
      schema: z.custom<z.ZodType<string>>((v) => v instanceof z.ZodType, 'a zod schema of the key'),
      compare: z
        .custom<(a: string, b: string) => number>((v) => typeof v === 'function', 'a function')
        .optional(),
      shift: z
        .custom<(key: string, n: number) => string>((v) => typeof v === 'function', 'a function')
        .optional(),
      containing: z
        .custom<(instant: Date, timeZone: string) => string>((v) => typeof v === 'function', 'a function')
        .optional(),
    })
    .strict(),
]);
