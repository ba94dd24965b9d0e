import { createHash } from 'node:crypto';
import { z } from 'zod';
import { HttpError, NotReadyError, PermanentError, type ProcessorRegistry } from '../../shared/index.ts';
import type { openDataDefinitionInput } from './definition.ts';

export const COLLECTIONS = { files: 'counter_files', counts: 'daily_counts', pages: 'week_pages' } as const;

const ConfigSchema = z.object({
  portalUrl: z.url({ message: 'set OPEN_DATA_URL to the open-data portal, e.g. http://127.0.0.1:8091' }),
});

/** What every function of this pipeline needs set (`phasegate deploy --env OPEN_DATA_URL=...`). */
export const REQUIRED_ENV = ['OPEN_DATA_URL'] as const;

/**
 * A row as published. The count stays what the file says: a whole number (a negative one too),
 * or null with the cell kept in `raw` when the cell is empty or not a number; the gate decides.
 */
const RowSchema = z.object({
  date: z.string(),
  counter: z.string(),
  raw: z.string(),
  count: z.number().int().nullable(),
});

/** The rows of a week's file; a file that is not `date,counter,count` CSV can never become right. */
export function parseWeekFile(week: string, csv: string): z.infer<typeof RowSchema>[] {
  const [header, ...lines] = csv.trim().split('\n');
  if (header !== 'date,counter,count')
    throw new PermanentError(`the file of ${week} has the header "${header ?? ''}", not date,counter,count`);
  return lines.map((line, i) => {
    const [date, counter, raw] = line.split(',');
    const count = raw !== undefined && /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : null;
    const row = RowSchema.safeParse({ date, counter, raw, count });
    if (!row.success)
      throw new PermanentError(`line ${i + 2} of the file of ${week} is not date,counter,count: ${line}`);
    return row.data;
  });
}

export const countId = (week: string, counter: string, date: string): string => `${week}_${counter}_${date}`;

/** The processors; the portal's URL is read when the first function instance builds them. */
export function createOpenDataProcessors(
  env: NodeJS.ProcessEnv = process.env,
): ProcessorRegistry<typeof openDataDefinitionInput> {
  const parsed = ConfigSchema.safeParse({ portalUrl: env.OPEN_DATA_URL });
  if (!parsed.success)
    throw new Error(`invalid configuration: OPEN_DATA_URL: ${parsed.error.issues[0]!.message}`);
  const { portalUrl } = parsed.data;
  return {
    'fetch-week': {
      async run(ctx) {
        const week = ctx.request.partition;
        let csv: string;
        try {
          csv = (await ctx.http.get(`${portalUrl}/weeks/${week}.csv`)).text;
        } catch (error) {
          if (error instanceof HttpError && error.status === 404 && error.body.startsWith('not_published'))
            throw new NotReadyError(`the portal has not published ${week} yet`);
          throw error;
        }
        const rows = parseWeekFile(week, csv).length;
        const sha256 = createHash('sha256').update(csv).digest('hex');
        await ctx.write(COLLECTIONS.files, [{ id: week, data: { week, csv, sha256, rows } }]);
        return { metrics: { rows } };
      },
    },
    'daily-counts': {
      async run(ctx) {
        const week = ctx.request.partition;
        const file = await ctx.store.get(COLLECTIONS.files, week);
        if (!file || file.runId !== ctx.request.runId || typeof file.csv !== 'string')
          throw new PermanentError(`the file of ${week} is not this run's: run the download phase first`);
        // Written as published: the gate, not this step, decides whether the values may go on.
        const docs = parseWeekFile(week, file.csv).map((row) => ({
          id: countId(week, row.counter, row.date),
          data: { week, date: row.date, counter: row.counter, count: row.count, raw: row.raw },
        }));
        await ctx.write(COLLECTIONS.counts, docs);
        return { metrics: { counts: docs.length } };
      },
    },
    'week-page': {
      async run(ctx) {
        const week = ctx.request.partition;
        const counts = await ctx.store.query(COLLECTIONS.counts, {
          filters: [
            { field: 'week', op: '==', value: week },
            { field: 'runId', op: '==', value: ctx.request.runId },
          ],
        });
        const totals: Record<string, number> = {};
        const perDay: Record<string, number> = {};
        for (const { data } of counts) {
          totals[String(data.counter)] = (totals[String(data.counter)] ?? 0) + Number(data.count);
          perDay[String(data.date)] = (perDay[String(data.date)] ?? 0) + Number(data.count);
        }
        const total = Object.values(totals).reduce((a, b) => a + b, 0);
        const busiestDay =
          Object.entries(perDay).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? null;
        const rows = Object.entries(totals)
          .sort((a, b) => a[0].localeCompare(b[0]))
          .map(([counter, n]) => `<tr><td>${counter}</td><td>${n}</td></tr>`)
          .join('');
        const html = `<h1>Bicycles counted, ${week}</h1><p>${total} in all; busiest day ${busiestDay ?? '-'}</p><table>${rows}</table>`;
        await ctx.write(COLLECTIONS.pages, [{ id: week, data: { week, totals, total, busiestDay, html } }]);
        return { metrics: { total } };
      },
    },
  };
}
