import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../../shared/errors/classify.ts';
import { createHttpClient } from '../../shared/lib/http-client.ts';
import { createSourceClient } from '../../functions/pipeline/source/source-client.ts';
import { ScheduleResponseSchema } from '../../functions/pipeline/source/payloads.ts';
import { startSourceApi, type SourceApi } from '../../scripts/source-api/server.ts';
import { syntheticDataset } from '../../scripts/source-api/synthetic.ts';
import { boxscoresOf, realDataset } from '../support/real-data.ts';
import { normalizeBoxscores } from '../../functions/pipeline/raw/normalize.ts';

let api: SourceApi;
beforeAll(async () => {
  api = await startSourceApi({ dataset: realDataset() });
});
afterAll(async () => {
  await api.close();
});

const client = () => createSourceClient(createHttpClient({ retries: 0, timeoutMs: 2000 }), api.url);

describe('source client against the local source API', () => {
  it('reads a real schedule with home and away from MATCHUP', async () => {
    const schedule = await client().getJson('/v1/schedule', { date: '2024-04-21' }, ScheduleResponseSchema);
    expect(schedule.games.map((g) => `${g.awayTeam}@${g.homeTeam}`)).toEqual([
      'MIA@BOS',
      'IND@MIL',
      'NOP@OKC',
      'DAL@LAC',
    ]);
  });

  it('tells a wrong URL (plain 404) from not published (404 not_published)', async () => {
    const wrong = await client()
      .getJson('/v2/schedule', { date: '2024-04-21' }, ScheduleResponseSchema)
      .catch((e: unknown) => e);
    expect(classify(wrong)).toMatchObject({ kind: 'permanent' });
    expect(String(wrong)).toMatch(/source endpoint not found/);
    api.faults.add({ endpoint: 'schedule', kind: 'not_published', dates: ['2024-04-22'], times: 1 });
    const notYet = await client()
      .getJson('/v1/schedule', { date: '2024-04-22' }, ScheduleResponseSchema)
      .catch((e: unknown) => e);
    expect(classify(notYet)).toMatchObject({ kind: 'not_ready' });
  });

  it('missing_rows answers 200 with the team rows of the last game(s) left out, for its dates and times only', async () => {
    const rows = async (date: string) =>
      (
        (await (await fetch(`${api.url}/v1/boxscores?date=${date}`)).json()) as {
          resultSets: { rowSet: unknown[] }[];
        }
      ).resultSets[0]!.rowSet.length;
    const whole = await rows('2024-04-21');
    api.faults.add({ endpoint: 'boxscores', kind: 'missing_rows', dates: ['2024-04-21'], times: 2 });
    expect(await rows('2024-04-20')).toBeGreaterThan(0);
    expect([await rows('2024-04-21'), await rows('2024-04-21'), await rows('2024-04-21')]).toEqual([
      whole - 2,
      whole - 2,
      whole,
    ]);
    api.faults.add({ endpoint: 'boxscores', kind: 'missing_rows', dates: ['2024-04-21'], rows: 4, times: 1 });
    expect(await rows('2024-04-21')).toBe(whole - 4);
    // It has rows to drop only in box scores: elsewhere it would use up its times doing nothing.
    expect(() => api.faults.add({ endpoint: 'schedule', kind: 'missing_rows' })).toThrow(
      /missing_rows drops box score rows: its endpoint is boxscores/,
    );
  });

  it('switches faults at run time through the admin endpoint and rejects a bad fault', async () => {
    const added = await fetch(`${api.url}/admin/faults`, {
      method: 'POST',
      body: JSON.stringify({ endpoint: 'schedule', kind: 'server_error', times: 1 }),
    });
    expect(added.status).toBe(200);
    const failed = await client()
      .getJson('/v1/schedule', { date: '2024-04-21' }, ScheduleResponseSchema)
      .catch((e: unknown) => e);
    expect(classify(failed)).toMatchObject({ kind: 'transient', reason: 'http_503' });
    expect(
      (await client().getJson('/v1/schedule', { date: '2024-04-21' }, ScheduleResponseSchema)).games,
    ).toHaveLength(4);
    const bad = await fetch(`${api.url}/admin/faults`, {
      method: 'POST',
      body: JSON.stringify({ endpoint: 'schedule', kind: 'explode' }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/kind/);
  });

  it('answers a bad date parameter with 400, a permanent error', async () => {
    const error = await client()
      .getJson('/v1/schedule', { date: '21/04/2024' }, ScheduleResponseSchema)
      .catch((e: unknown) => e);
    expect(classify(error)).toMatchObject({ kind: 'permanent', reason: 'http_400' });
  });
});

describe('synthetic scale mode', () => {
  it('is deterministic per seed and keeps the real schema', () => {
    const headers = realDataset().headers;
    const a = syntheticDataset({ seed: 7, headers });
    const b = syntheticDataset({ seed: 7, headers });
    const c = syntheticDataset({ seed: 8, headers });
    const games = (d: typeof a) => d.dates.reduce((n, date) => n + d.scheduleOn(date).length, 0);
    expect(games(a)).toBe(1230);
    expect(a.rowsOn(a.dates[3]!)).toEqual(b.rowsOn(b.dates[3]!));
    expect(a.rowsOn(a.dates[3]!)).not.toEqual(c.rowsOn(c.dates[3]!));
    expect(Object.keys(a.rowsOn(a.dates[0]!)[0]!).sort()).toEqual([...headers].sort());
    // Every synthetic row passes the same validation as real data.
    for (const date of a.dates.slice(0, 20)) {
      const n = normalizeBoxscores(date, boxscoresOf(date, a));
      expect(n.rejected).toEqual([]);
      expect(n.games).toHaveLength(a.scheduleOn(date).length);
    }
  });
});

describe('source API configuration', () => {
  it('reads faults and the synthetic seed from the environment, and says what is wrong', async () => {
    const { loadSourceApiConfig } = await import('../../scripts/source-api/config.ts');
    expect(
      loadSourceApiConfig({
        SOURCE_API_FAULTS: '{"endpoint":"boxscores","kind":"slow","delayMs":50}',
        SOURCE_API_SYNTHETIC_SEED: '42',
      }),
    ).toMatchObject({ faults: [{ endpoint: 'boxscores', kind: 'slow', delayMs: 50 }], syntheticSeed: 42 });
    expect(() => loadSourceApiConfig({ SOURCE_API_FAULTS: '{"endpoint":"games","kind":"slow"}' })).toThrow(
      /SOURCE_API_FAULTS is invalid: 0\.endpoint/,
    );
    expect(() => loadSourceApiConfig({ SOURCE_API_SYNTHETIC_SEED: 'abc' })).toThrow(/must be a whole number/);
  });
});
