// A stand-in for the city's open-data portal on this machine: GET /weeks/<YYYY-Www>.csv.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { weekFile } from './data.ts';

export interface OpenDataPortal {
  url: string;
  close(): Promise<void>;
}

export async function startOpenDataPortal(port = 0): Promise<OpenDataPortal> {
  const server = createServer((req, res) => {
    const week = /^\/weeks\/(\d{4}-W\d{2})\.csv$/.exec(req.url ?? '')?.[1];
    const file = week ? weekFile(week) : undefined;
    if (req.method !== 'GET' || !week)
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such file');
    else if (!file) res.writeHead(404, { 'content-type': 'text/plain' }).end(`not_published: ${week}`);
    else res.writeHead(200, { 'content-type': 'text/csv' }).end(file);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
