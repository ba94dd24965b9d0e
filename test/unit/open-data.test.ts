// The open-data example (examples/open-data): weekly partitions, three stages and a value gate,
// on the same kit as the reference pipeline, over the in-memory store and its stand-in portal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryPipeline } from '../../shared/testing/index.ts';
import { COLLECTIONS, createHttpClient, type HttpClient, type RunDoc } from '../../shared/index.ts';
import { pipeline } from '../../examples/open-data/index.ts';
import { openDataDefinition } from '../../examples/open-data/definition.ts';
import { openDataExpectations } from '../../examples/open-data/expectations.ts';
import { COLLECTIONS as DATA, createOpenDataProcessors } from '../../examples/open-data/processors.ts';
import { COUNTERS, daysOfWeek, FAULTY_WEEK, LAST_WEEK, weekFile } from '../../examples/open-data/data.ts';
import { startOpenDataPortal, type OpenDataPortal } from '../../examples/open-data/source.ts';
import { auditExpectations, auditRegistry } from '../../infra/validate/static-audit.ts';

let portal: OpenDataPortal;
beforeAll(async () => {
  portal = await startOpenDataPortal();
});
afterAll(() => portal.close());

/** The example over the in-memory store (phasegate/testing's memoryPipeline); `edit` changes the files as served. */
function world(edit?: (week: string, csv: string) => string) {
  const real = createHttpClient({ retries: 0 });
  const http: HttpClient = {
    async get(url) {
      const response = await real.get(url);
      const week = /\/weeks\/(.+)\.csv$/.exec(url)?.[1];
      return edit && week ? { ...response, text: edit(week, response.text) } : response;
    },
  };
  const memory = memoryPipeline(
    { ...pipeline, processors: createOpenDataProcessors({ OPEN_DATA_URL: portal.url }) },
    { http },
  );
  return {
    store: memory.store,
    async run(week: string): Promise<RunDoc> {
      await memory.run(week);
      return memory.store.docs(COLLECTIONS.runs).find((r) => r.partition === week) as unknown as RunDoc;
    },
  };
}

describe('the open-data example pipeline', () => {
  it('is whole: every processor registered, every output expected', () => {
    expect(
      auditRegistry(openDataDefinition, createOpenDataProcessors({ OPEN_DATA_URL: 'http://x.invalid' })),
    ).toEqual([]);
    expect(auditExpectations(openDataDefinition, openDataExpectations)).toEqual([]);
  });

  it('runs a week through download, process and publish to SUCCESS, with the page built from the counts', async () => {
    const w = world();
    const run = await w.run('2024-W16');
    expect(run).toMatchObject({ status: 'SUCCESS', lastError: null });
    const counts = w.store.docs(DATA.counts).filter((d) => d.week === '2024-W16');
    expect(counts).toHaveLength(COUNTERS.length * 7);
    expect(new Set(counts.map((c) => c.date))).toEqual(new Set(daysOfWeek('2024-W16')));
    const fileTotal = weekFile('2024-W16')!
      .trim()
      .split('\n')
      .slice(1)
      .reduce((n, line) => n + Number(line.split(',')[2]), 0);
    const page = await w.store.get(DATA.pages, '2024-W16');
    expect(page).toMatchObject({ week: '2024-W16', total: fileTotal, runId: run.runId });
    expect(String(page?.html)).toContain(`${fileTotal} in all`);
  });

  it('stops a week whose file holds a negative count at the value gate: the page is never built over it', async () => {
    const w = world();
    const run = await w.run(FAULTY_WEEK);
    // The download passed its gate, the processing did not.
    expect(run.status).toBe('PARTIAL');
    expect(run.lastError).toMatch(
      new RegExp(
        `gate of phase process failed: daily_counts \\(week\\) 1 of 28 fail their check ` +
          `\\(${FAULTY_WEEK}_harbour-bridge_\\d{4}-\\d{2}-\\d{2}: count -3 is outside 0 … 100000\\)`,
      ),
    );
    expect(await w.store.get(DATA.pages, FAULTY_WEEK)).toBeUndefined();
    const entry = w.store.docs(COLLECTIONS.queue).find((e) => e.partition === FAULTY_WEEK);
    expect(entry).toMatchObject({ status: 'pending', errorReason: 'gate_failed', processor: 'daily-counts' });
  });

  it('stops a truncated week (half its rows) and a count that is not a number at the processing gate', async () => {
    const half = world((_, csv) => csv.split('\n').slice(0, 15).join('\n'));
    const run = await half.run('2024-W16');
    expect(run.status).toBe('PARTIAL');
    expect(run.lastError).toContain('daily_counts (week) expected 28, found 14');
    const blank = world((_, csv) => csv.replace(/^(2024-04-16,river-path,)\d+$/m, '$1'));
    const second = await blank.run('2024-W16');
    expect(second.lastError).toContain('2024-W16_river-path_2024-04-16: count "" is not a whole number');
    expect(await blank.store.get(DATA.pages, '2024-W16')).toBeUndefined();
  });

  it('waits for a week the portal has not published, rather than succeed empty', async () => {
    const w = world();
    const next = openDataDefinition.scheme.shift(LAST_WEEK, 1);
    const run = await w.run(next);
    expect(run.status).not.toBe('SUCCESS');
    expect(await w.store.get(DATA.files, next)).toBeUndefined();
    const entry = w.store.docs(COLLECTIONS.queue).find((e) => e.partition === next);
    expect(entry).toMatchObject({ status: 'waiting', errorType: 'not_ready' });
    expect(String(entry?.lastError)).toContain(`the portal has not published ${next} yet`);
  });

  it('refuses a key that is not an ISO week, naming the scheme', async () => {
    const w = world();
    await w.run('2024-04-21');
    expect(w.store.docs(COLLECTIONS.runs)).toEqual([]);
    const entry = w.store.docs(COLLECTIONS.queue)[0];
    expect(entry).toMatchObject({ status: 'failed_permanent' });
    expect(String(entry?.lastError)).toContain('an ISO week, YYYY-Www');
  });
});
