/** The partition schemes `phasegate init` makes a project for (a custom scheme is written by hand). */
export const SCAFFOLD_SCHEMES = ['daily', 'weekly', 'monthly'] as const;
export type ScaffoldScheme = (typeof SCAFFOLD_SCHEMES)[number];

/** What the scaffold's files are filled in with: the project's name and its scheme's examples. */
export interface ScaffoldValues {
  name: string;
  scheme: ScaffoldScheme;
  /** The partition the demo and the tests run. */
  demo: string;
  /** How a partition key of the scheme is written. */
  keyFormat: string;
  /** When the daily run is scheduled: once a partition. */
  cron: string;
}

const DEMO: Record<ScaffoldScheme, string> = { daily: '2024-04-21', weekly: '2024-W16', monthly: '2024-04' };
const CRON: Record<ScaffoldScheme, string> = {
  daily: '0 6 * * *',
  weekly: '0 6 * * 1',
  monthly: '0 6 1 * *',
};
const KEY: Record<ScaffoldScheme, string> = { daily: 'YYYY-MM-DD', weekly: 'YYYY-Www', monthly: 'YYYY-MM' };

export const scaffoldValues = (name: string, scheme: ScaffoldScheme): ScaffoldValues => ({
  name,
  scheme,
  demo: DEMO[scheme],
  keyFormat: KEY[scheme],
  cron: CRON[scheme],
});
