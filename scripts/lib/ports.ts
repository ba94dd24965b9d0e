import { acceptsConnections } from '../../shared/adapters/warm-start.ts';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describeExit, type ManagedProcess, type ProcessExit } from './processes.ts';

/** True when nothing listens on host:port (we can bind it); `null`: on every interface, as functions-framework listens. */
export function isPortFree(port: number, host: string | null = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    const listening = () => server.close(() => resolve(true));
    if (host === null) server.listen(port, listening);
    else server.listen(port, host, listening);
  });
}

/**
 * Where the OS takes the local ports of outgoing connections (Linux: ip_local_port_range); the
 * usual range when it cannot be read.
 */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low!, high!];
  } catch {
    // Not Linux: the range most systems use.
  }
  return [32768, 60999];
}

/** Ports below this are for services people run by hand (8080, 8085, 9099…): not ours to take. */
const LOWEST = 10_000;

/**
 * A port that is free now and outside the ephemeral range. A port the OS hands out for `listen(0)`
 * is in that range, so once its first process dies (a crash, a chaos kill) any outgoing connection
 * of any process may take it as its local port, and the restart on it fails with EADDRINUSE (seen:
 * a chaos soak whose killed function never came back). Random, so two stacks rarely try the same one.
 */
/** Ports this process handed out: functions spawned at once each get one of their own. */
const handedOut = new Set<number>();

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [low] = ephemeralRange();
  const high = Math.min(low, 65_536) - 1;
  if (high - LOWEST > 1000)
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const candidate = LOWEST + Math.floor(Math.random() * (high - LOWEST + 1));
      if (handedOut.has(candidate)) continue;
      if (
        (await isPortFree(candidate, host)) &&
        (await isPortFree(candidate, null)) &&
        !handedOut.has(candidate)
      ) {
        handedOut.add(candidate);
        return candidate;
      }
    }
  return osFreePort(host);
}

/** A port the OS says is free right now (in its ephemeral range). */
function osFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The preferred port when it is free, otherwise any free port. */
export async function preferredOrFreePort(
  preferred: number | undefined,
  host = '127.0.0.1',
): Promise<number> {
  if (preferred !== undefined && (await isPortFree(preferred, host))) return preferred;
  return freePort(host);
}

/**
 * Whether something accepts connections at `url`'s host and port now. A refused connect costs
 * microseconds; a failed fetch costs milliseconds of CPU, which thirteen processes polled ten
 * times a second while a busy machine starts them made a good part of `npm start`'s own CPU.
 */
const accepts = (url: URL): Promise<boolean> =>
  acceptsConnections(
    url.hostname.replace(/^\[(.*)\]$/, '$1'),
    Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
  );

/** How long a process that is alive may take to answer: generous, because a busy machine is slow, not broken. */
export const START_LIMIT_MS = 5 * 60_000;

/**
 * Polls `url` until it answers (any HTTP status). With `process`, it fails as soon as that
 * process exits, naming how and showing its last lines, and otherwise keeps waiting while it is
 * alive, up to `limitMs`. Without one (a server somebody else runs) it gives up after `limitMs`.
 */
export async function waitForHttp(
  url: string,
  options: { what: string; process?: ManagedProcess; limitMs?: number },
): Promise<void> {
  const limitMs = options.limitMs ?? START_LIMIT_MS;
  const deadline = Date.now() + limitMs;
  let exit: ProcessExit | undefined;
  void options.process?.exited.then((e) => (exit = e));
  const died = (e: ProcessExit, proc: ManagedProcess) => {
    const tail = proc.tail();
    const last = tail.length > 0 ? `; its last lines:\n    ${tail.join('\n    ')}` : ' (it printed nothing)';
    return new Error(`${options.what} ${describeExit(e)} before it answered at ${url}${last}`);
  };
  const target = new URL(url);
  const answers = async () => {
    if (!(await accepts(target))) return false;
    try {
      await fetch(url, { signal: AbortSignal.timeout(2000) });
      return true;
    } catch {
      return false;
    }
  };
  for (;;) {
    if (exit && options.process) throw died(exit, options.process);
    if (await answers()) return;
    if (exit && options.process) throw died(exit, options.process);
    if (Date.now() > deadline) {
      const alive = options.process ? ' although it is still running' : '';
      throw new Error(
        `${options.what} did not answer at ${url} within ${Math.round(limitMs / 1000)} s${alive}`,
      );
    }
    // Wakes early when the process exits, so a crash at start is reported at once.
    const pause = new Promise((r) => setTimeout(r, 100));
    await (options.process ? Promise.race([pause, options.process.exited]) : pause);
  }
}
