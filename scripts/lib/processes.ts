import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** How many of a process's last output lines are kept, to say why it died. */
const TAIL_LINES = 30;

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (no such executable...). */
  error?: Error;
}

export interface ManagedProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  readonly isAlive: () => boolean;
  /** Resolves once, when the process has exited and its output is read (or it failed to start). */
  readonly exited: Promise<ProcessExit>;
  /** Its last output lines, newest last. */
  tail(): string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

export const describeExit = (exit: ProcessExit): string =>
  exit.error
    ? `could not start: ${exit.error.message}`
    : exit.signal
      ? `killed by ${exit.signal}`
      : `exited with code ${String(exit.code)}`;

/** Starts one process (no shell in between, so the PID is the process itself) logging to a file. */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; logFile: string; cwd?: string; echo?: (line: string) => void },
): ManagedProcess {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let alive = true;
  // 'close', not 'exit': by then its output has been read to the end, so `tail()` holds the last lines.
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('close', (code, signal) => {
      alive = false;
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      alive = false;
      resolve({ code: null, signal: null, error });
    });
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      if (!log.writableEnded) log.write(chunk);
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        lines.push(line);
        if (lines.length > TAIL_LINES) lines.shift();
        options.echo?.(line);
      }
    });
  }
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${command} ${args.join(' ')}`);
  return {
    name,
    pid: child.pid,
    child,
    logFile: options.logFile,
    isAlive: () => alive,
    exited,
    tail: () => [...lines],
    async stop(graceMs = 5000) {
      if (alive) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      log.end();
    },
  };
}
