import { pino, type Level } from 'pino';
import type { Logger } from '../ports/logger.ts';

/** Cloud Logging reads `severity` and `message` from a JSON line on stdout. */
const SEVERITY: Record<Level, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

export function createLogger(
  options: { name: string; level?: Level; destination?: NodeJS.WritableStream } = { name: 'phasegate' },
): Logger {
  const settings = {
    name: options.name,
    level: options.level ?? 'info',
    messageKey: 'message',
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ severity: SEVERITY[label as Level] ?? 'DEFAULT' }) },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/** A logger that keeps its lines in memory, for tests that assert on what was logged. */
export function createMemoryLogger(): Logger & {
  lines: { level: string; fields: Record<string, unknown>; message: string }[];
} {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const make = (bound: Record<string, unknown>): Logger => ({
    debug: (fields, message) => lines.push({ level: 'debug', fields: { ...bound, ...fields }, message }),
    info: (fields, message) => lines.push({ level: 'info', fields: { ...bound, ...fields }, message }),
    warn: (fields, message) => lines.push({ level: 'warn', fields: { ...bound, ...fields }, message }),
    error: (fields, message) => lines.push({ level: 'error', fields: { ...bound, ...fields }, message }),
    child: (fields) => make({ ...bound, ...fields }),
  });
  return Object.assign(make({}), { lines });
}
