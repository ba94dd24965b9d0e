import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Command } from 'commander';
import { repoRoot } from '../lib/local-pipeline.ts';

export interface BenchOptions {
  only?: number[];
  quick?: boolean;
  out: string;
}

/** What every benchmark is handed: the run's size, where logs go, how to print, a fresh project id. */
export interface BenchContext {
  /** Small sizes: a smoke run, not figures to record. */
  quick: boolean;
  logDir: string;
  say: (line: string) => void;
  /** A project id of its own for each pipeline measured, so no two see each other's data. */
  project: (label: string) => string;
}

export function parseBenchOptions(argv: readonly string[] = process.argv): BenchOptions {
  return new Command('bench')
    .option('--only <ids>', 'run only these benchmarks (comma-separated ids: 1-3, 5-9)', (v) =>
      v.split(',').map(Number),
    )
    .option('--quick', 'small sizes: a smoke run, not figures to record')
    .option('--out <file>', 'JSON results', join(repoRoot, '.phasegate', 'bench', 'results.json'))
    .parse(argv)
    .opts<BenchOptions>();
}

export function createBenchContext(options: BenchOptions): BenchContext {
  return {
    quick: Boolean(options.quick),
    logDir: join(repoRoot, '.phasegate', 'logs', 'bench'),
    say: (line) => process.stdout.write(`${line}\n`),
    project: (label) => `bench-${label}-${randomUUID().slice(0, 6)}`,
  };
}
