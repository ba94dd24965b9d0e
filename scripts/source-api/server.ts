import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Dataset } from './dataset.ts';
import {
  createFaultBook,
  FaultRuleSchema,
  type FaultBook,
  type FaultRule,
  type FaultRuleInput,
  type SourceEndpoint,
} from './faults.ts';

/**
 * A stats provider as the scrapers see one:
 *   GET /v1/schedule?date=YYYY-MM-DD        games of a date (home and away)
 *   GET /v1/boxscores?date=YYYY-MM-DD       team box scores of a date, stats.nba.com style resultSets
 *   GET /v1/next-game-date?after=YYYY-MM-DD next date with games in the same season, or null
 *   GET /v1/season-games?season=S&through=D every game of the season up to a date
 *   GET /v1/game-dates?from=D&to=D          the dates with games in a range (the calendar)
 *   GET/POST/DELETE /admin/faults           switch faults at run time
 * "Not published yet" is a 404 whose body says `not_published`; an unknown path is a 404 `not_found`.
 */
export interface SourceApi {
  url: string;
  faults: FaultBook;
  close(): Promise<void>;
}

const DateSchema = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function applyFault(
  rule: FaultRule,
  res: ServerResponse,
  date: string | undefined,
  respond: (transform?: (body: unknown) => unknown) => void,
): boolean {
  switch (rule.kind) {
    case 'missing_rows':
      // A 200 that looks whole but is short: the team rows of the last game(s) are not there.
      respond((body) => {
        const answer = body as { resultSets?: { rowSet: unknown[] }[] };
        for (const set of answer.resultSets ?? [])
          set.rowSet = set.rowSet.slice(0, Math.max(0, set.rowSet.length - rule.rows));
        return answer;
      });
      return true;
    case 'rate_limit':
      send(
        res,
        429,
        { error: 'rate_limited', message: 'too many requests' },
        { 'retry-after': String(rule.retryAfterSeconds) },
      );
      return true;
    case 'server_error':
      send(res, rule.status, { error: 'unavailable', message: 'upstream error' });
      return true;
    case 'not_published':
      send(res, 404, {
        error: 'not_published',
        date,
        message: `data for ${date ?? 'this date'} has not been published yet`,
      });
      return true;
    case 'malformed':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"resultSets": [{"name": "TeamGameLogs", "rowSet": [["00423');
      return true;
    case 'slow':
      setTimeout(() => respond(), rule.delayMs).unref();
      return true;
  }
}

export function createSourceHandler(dataset: Dataset, faults: FaultBook) {
  const endpoints: Record<SourceEndpoint, { param: string; answer: (q: URLSearchParams) => unknown }> = {
    schedule: {
      param: 'date',
      answer: (q) => ({
        date: q.get('date'),
        season: dataset.seasonOf(q.get('date') ?? '') ?? null,
        games: dataset.scheduleOn(q.get('date') ?? ''),
      }),
    },
    boxscores: {
      param: 'date',
      answer: (q) => ({
        date: q.get('date'),
        resultSets: [
          {
            name: 'TeamGameLogs',
            headers: dataset.headers,
            rowSet: dataset
              .rowsOn(q.get('date') ?? '')
              .map((row) => dataset.headers.map((h) => row[h] ?? '')),
          },
        ],
      }),
    },
    'next-game-date': {
      param: 'after',
      answer: (q) => ({ after: q.get('after'), nextGameDate: dataset.nextGameDate(q.get('after') ?? '') }),
    },
    'game-dates': {
      param: 'from',
      answer: (q) => ({
        from: q.get('from'),
        to: q.get('to'),
        dates: dataset.dates.filter((d) => d >= (q.get('from') ?? '') && d <= (q.get('to') ?? '9999-12-31')),
      }),
    },
    'season-games': {
      param: 'through',
      answer: (q) => ({
        season: q.get('season'),
        through: q.get('through'),
        games: dataset.seasonGamesThrough(q.get('season') ?? '', q.get('through') ?? ''),
      }),
    },
  };

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://source');
    if (url.pathname === '/admin/faults') {
      if (req.method === 'GET') return send(res, 200, { faults: faults.list() });
      if (req.method === 'DELETE') {
        faults.clear();
        return send(res, 200, { faults: [] });
      }
      if (req.method === 'POST') {
        let body: unknown;
        try {
          body = JSON.parse(await readBody(req));
        } catch {
          return send(res, 400, { error: 'bad_request', message: 'body is not JSON' });
        }
        const rules = z.array(FaultRuleSchema).safeParse(Array.isArray(body) ? body : [body]);
        if (!rules.success)
          return send(res, 400, {
            error: 'bad_request',
            message: rules.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
          });
        for (const rule of rules.data) faults.add(rule);
        return send(res, 200, { faults: faults.list() });
      }
      return send(res, 405, { error: 'method_not_allowed' });
    }
    const name = url.pathname.replace(/^\/v1\//, '') as SourceEndpoint;
    const endpoint = url.pathname.startsWith('/v1/') ? endpoints[name] : undefined;
    if (!endpoint || req.method !== 'GET')
      return send(res, 404, {
        error: 'not_found',
        message: `no such endpoint: ${req.method} ${url.pathname}`,
      });
    const date = url.searchParams.get(endpoint.param) ?? undefined;
    if (!date || !DateSchema.safeParse(date).success)
      return send(res, 400, {
        error: 'bad_request',
        message: `query parameter ${endpoint.param}=YYYY-MM-DD is required`,
      });
    // After the last date it has, the source has published nothing: those games are not final yet
    // (a date in the future), so it answers as a real feed does before publishing: 404 not_published.
    const publishedThrough = dataset.dates.at(-1) ?? '';
    if ((name === 'schedule' || name === 'boxscores') && date > publishedThrough) {
      return send(res, 404, {
        error: 'not_published',
        date,
        message: `data for ${date} has not been published yet: its games are not final (published through ${publishedThrough})`,
      });
    }
    const respond = (transform: (body: unknown) => unknown = (body) => body) =>
      send(res, 200, transform(endpoint.answer(url.searchParams)));
    const fault = faults.take(name, date);
    if (fault && applyFault(fault, res, date, respond)) return;
    respond();
  };
}

export async function startSourceApi(options: {
  dataset: Dataset;
  port?: number;
  host?: string;
  faults?: FaultRuleInput[];
}): Promise<SourceApi & { server: Server }> {
  const faults = createFaultBook(options.faults);
  const handler = createSourceHandler(options.dataset, faults);
  const server = createServer((req, res) => {
    handler(req, res).catch((error: unknown) =>
      send(res, 500, { error: 'internal', message: String(error) }),
    );
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    faults,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
