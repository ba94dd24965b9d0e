import { createHash } from 'node:crypto';
import { defineExpectations, type ExpectationContext } from '../../shared/index.ts';
import { COUNTERS, daysOfWeek } from './data.ts';
import { openDataDefinitionInput } from './definition.ts';
import { COLLECTIONS } from './processors.ts';

/** The week's file as downloaded, read once per gate. */
const fileOf = (ctx: ExpectationContext) =>
  ctx.once('file', () => ctx.store.get(COLLECTIONS.files, ctx.partition));
/** The counts this run wrote for the week, read once per gate. */
const countsOf = (ctx: ExpectationContext) =>
  ctx.once('counts', async () => {
    const file = await fileOf(ctx);
    return ctx.store.query(COLLECTIONS.counts, {
      filters: [
        { field: 'week', op: '==', value: ctx.partition },
        { field: 'runId', op: '==', value: file?.runId ?? '' },
      ],
    });
  });

const MAX_PER_DAY = 100_000;

/**
 * Counts and values. A file must be what its sha256 says; every counter and day of the week has
 * a count that is a whole number from 0 to 100,000, on a day of that week, of a known counter;
 * the page's total is the sum of the counts it was built from.
 */
export const openDataExpectations = defineExpectations(openDataDefinitionInput, {
  download: {
    counter_files: {
      week: {
        min: 1,
        each: ({ data }) =>
          typeof data.csv === 'string' && createHash('sha256').update(data.csv).digest('hex') === data.sha256
            ? undefined
            : 'the file does not match its sha256',
      },
    },
  },
  process: {
    daily_counts: {
      week: {
        // Every counter on every day (ids are counter and day: 28 documents are 28 different ones).
        min: COUNTERS.length * 7,
        each: ({ data }, ctx) => {
          const count = data.count;
          if (typeof count !== 'number' || !Number.isInteger(count))
            return `count "${String(data.raw)}" is not a whole number`;
          if (count < 0 || count > MAX_PER_DAY) return `count ${count} is outside 0 … ${MAX_PER_DAY}`;
          if (!daysOfWeek(ctx.partition).includes(String(data.date)))
            return `${String(data.date)} is not a day of ${ctx.partition}`;
          if (!(COUNTERS as readonly string[]).includes(String(data.counter)))
            return `${String(data.counter)} is not a known counter`;
          return undefined;
        },
      },
    },
  },
  publish: {
    week_pages: {
      week: {
        min: 1,
        each: async ({ data }, ctx) => {
          const sum = (await countsOf(ctx)).reduce((n, d) => n + Number(d.data.count), 0);
          return data.total === sum
            ? undefined
            : `total ${String(data.total)} is not the sum of the week's counts (${sum})`;
        },
      },
    },
  },
});
