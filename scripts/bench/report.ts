import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';
import type { CostModelBlock } from './cost-report.ts';

/** One benchmark's figures beside its baseline's, measured in the same run on the same emulators. */
export interface Result {
  id: number;
  name: string;
  figures: Record<string, number>;
  baseline: { name: string; figures: Record<string, number> };
  /** value / baseline for the headline figure. */
  ratio: number;
  headline: string;
  target?: string;
  met?: boolean;
  /** What a partition costs, when the benchmark measured it (cost-report.ts prints it after the table). */
  cost?: CostModelBlock;
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
}

export function describeMachine(): Machine {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** The Markdown table BENCHMARKS.md records. */
export function resultsTable(results: readonly Result[]): string {
  const fmt = (f: Record<string, number>) =>
    Object.entries(f)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  const rows = results.map(
    (r) =>
      `| ${r.id} | ${r.name} | ${fmt(r.figures)} | ${r.baseline.name}: ${fmt(r.baseline.figures)} | ${r.ratio}x ` +
      `(${r.headline}) | ${r.target ? `${r.target}: ${r.met ? 'met' : 'MISSED'}` : ''} |`,
  );
  return [
    '| # | benchmark | phasegate | baseline (same run) | ratio | target |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

export function writeResults(
  file: string,
  run: { quick: boolean; machine: Machine; results: readonly Result[] },
): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), ...run }, null, 2)}\n`);
}
