// How a function process hands its counts to the bench: PHASEGATE_COST_METER names a directory, and
// each process keeps `<function>-<pid>.json` there, rewritten a second after a change and on exit.
// functions-framework exits on SIGTERM (its handler calls process.exit), so stopping a stack, which
// sends SIGTERM and waits, leaves every process's final counts; a process killed outright loses at
// most its last second.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { addCounts, CostCountsSchema, type CostCounts } from '../cost/counts.ts';
import { createCostMeter, type CostMeter } from './cost-meter.ts';

export const COST_METER_ENV = 'PHASEGATE_COST_METER';
/** How long a change may wait before it is on disk. */
export const FLUSH_EVERY_MS = 1000;

const CostFileSchema = z.object({
  process: z.string(),
  pid: z.number().int(),
  writtenAt: z.string(),
  counts: CostCountsSchema,
});
export type CostFile = z.infer<typeof CostFileSchema>;

export interface FileCostMeter extends CostMeter {
  /** Where this process's counts are written. */
  file: string;
  /** Writes the counts now if they changed since the last write. */
  flush(): void;
}

/**
 * The meter PHASEGATE_COST_METER asks for, or undefined when it is unset (then nothing is wrapped
 * and nothing counted). `processName` names the file (the function, K_SERVICE, on the stack).
 */
export function costMeterFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  processName = env.K_SERVICE ?? env.FUNCTION_TARGET ?? 'process',
): FileCostMeter | undefined {
  const dir = env[COST_METER_ENV];
  if (dir === undefined || dir === '') return undefined;
  if (!isAbsolute(dir))
    throw new Error(`${COST_METER_ENV} must be an absolute directory path (the bench sets it), got "${dir}"`);
  mkdirSync(dir, { recursive: true });
  const safeName = processName.replace(/[^A-Za-z0-9_.-]/g, '_');
  const file = join(dir, `${safeName}-${process.pid}.json`);
  let dirty = true;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!dirty) return;
    dirty = false;
    const content: CostFile = {
      process: processName,
      pid: process.pid,
      writtenAt: new Date().toISOString(),
      counts,
    };
    // Written whole, then renamed: a reader never sees half a file.
    writeFileSync(`${file}.tmp`, `${JSON.stringify(content)}\n`);
    renameSync(`${file}.tmp`, file);
  };
  const meter = createCostMeter({
    onChange: () => {
      dirty = true;
      timer ??= setTimeout(flush, FLUSH_EVERY_MS).unref();
    },
  });
  const { counts } = meter;
  flush();
  // At exit nobody can be told by a throw: say it on stderr, where the function's log keeps it.
  process.on('exit', () => {
    try {
      flush();
    } catch (error) {
      process.stderr.write(`cost meter: could not write ${file}: ${String(error)}\n`);
    }
  });
  return { ...meter, file, flush };
}

/** Every process's counts in `dir`, and their sum; a file that does not parse is an error naming it. */
export function readCostMeterFiles(dir: string): { files: CostFile[]; total: CostCounts } {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => {
      const path = join(dir, name);
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(path, 'utf8'));
      } catch (error) {
        throw new Error(
          `${path} is not a cost meter file: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      const parsed = CostFileSchema.safeParse(json);
      if (!parsed.success)
        throw new Error(
          `${path} is not a cost meter file: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        );
      return parsed.data;
    });
  return { files, total: addCounts(...files.map((f) => f.counts)) };
}
