import { Command, InvalidArgumentError } from 'commander';

/** Faults of the functions and their deliveries. */
const FUNCTION_FAULTS = ['write failure', 'slow handler', 'duplicate delivery', 'process kill'] as const;
/** Answers of the source API the scrapers call. */
const SOURCE_FAULTS = ['source 429', 'source 5xx', 'source timeout'] as const;
/** Logic faults: the data or the order of things is wrong, not the infrastructure. */
const LOGIC_FAULTS = [
  'short data',
  'late dead letter',
  'forced second run',
  'dead-lettered scheduled request',
  'oversized poison',
  'id with /',
] as const;

/** Every fault the soak injects, in the order its report lists them. */
export const KINDS = [...FUNCTION_FAULTS, ...SOURCE_FAULTS, 'poison message', ...LOGIC_FAULTS] as const;
export type Kind = (typeof KINDS)[number];

export interface ChaosOptions {
  dates: number;
  seed: number;
  json?: boolean;
  without: Kind[];
}

const positive = (max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new InvalidArgumentError(`"${value}" is not a whole number from 1 to ${max}`);
  return n;
};

function kindList(value: string): Kind[] {
  const kinds = value
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const unknown = kinds.filter((k) => !(KINDS as readonly string[]).includes(k));
  if (unknown.length)
    throw new InvalidArgumentError(`unknown fault kind(s) ${unknown.join(', ')}; kinds: ${KINDS.join(', ')}`);
  return kinds as Kind[];
}

export function parseChaosOptions(argv: readonly string[] = process.argv): ChaosOptions {
  return new Command('chaos')
    .description('backfill real dates under random faults and prove nothing was lost')
    .option(
      '--dates <n>',
      'how many game dates (from the start of a season the seed picks)',
      positive(200),
      10,
    )
    .option('--seed <s>', 'the seed: the same seed injects the same faults', positive(2 ** 31), 1)
    .option('--json', 'print the report as JSON')
    .option(
      '--without <kinds>',
      `leave these fault kinds out (comma-separated; "short data" alone takes minutes: its gate re-runs back off ` +
        `60, 120, 240 s before it needs a person). Kinds: ${KINDS.join(', ')}`,
      kindList,
      [] as Kind[],
    )
    .parse(argv)
    .opts<ChaosOptions>();
}
