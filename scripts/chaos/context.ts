import { join } from 'node:path';
import { repoRoot } from '../lib/local-pipeline.ts';
import { seededRandom, type SeededRandom } from '../lib/seeded.ts';
import type { ChaosOptions, Kind } from './options.ts';

/** How each kind of fault fared: injected, then for each date or message it touched, one verdict. */
export interface TallyRow {
  injected: number;
  recovered: number;
  person: number;
  lost: number;
}

export interface Tally {
  count: (kind: Kind, field: keyof TallyRow, by?: number) => void;
  injected: (kind: Kind) => number;
  /** The kinds counted so far, in the order first counted. */
  rows: () => [Kind, TallyRow][];
}

function createTally(): Tally {
  const rows = new Map<Kind, TallyRow>();
  return {
    count: (kind, field, by = 1) => {
      const t = rows.get(kind) ?? { injected: 0, recovered: 0, person: 0, lost: 0 };
      t[field] += by;
      rows.set(kind, t);
    },
    injected: (kind) => rows.get(kind)?.injected ?? 0,
    rows: () => [...rows],
  };
}

/** What every step of the soak is handed: the options, the one random source, the tally and the output. */
export interface ChaosContext {
  options: ChaosOptions;
  /** Every random choice of a soak comes from here, in a fixed order, so a seed replays it. */
  random: SeededRandom;
  tally: Tally;
  enabled: (kind: Kind) => boolean;
  /** A progress line (none with --json). */
  say: (line: string) => void;
  logDir: string;
}

export function createChaosContext(options: ChaosOptions): ChaosContext {
  return {
    options,
    random: seededRandom(options.seed),
    tally: createTally(),
    enabled: (kind) => !options.without.includes(kind),
    say: (line) => {
      if (!options.json) process.stdout.write(`${line}\n`);
    },
    logDir: join(repoRoot, '.phasegate', 'logs', 'chaos'),
  };
}
