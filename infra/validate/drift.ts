/** One difference between two things that must agree; `message` names both sides. */
export interface Drift {
  area:
    | 'registry'
    | 'expectations'
    | 'entry points'
    | 'plan'
    | 'indexes'
    | 'readme'
    | 'iam'
    | 'topics'
    | 'subscriptions'
    | 'scheduler'
    | 'control-dlq';
  message: string;
}

export function formatDrifts(drifts: readonly Drift[]): string {
  return drifts.map((d) => `  - [${d.area}] ${d.message}`).join('\n');
}

/** Levenshtein distance: which unmatched name a misspelt one most likely meant. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

export function closest(name: string, candidates: readonly string[]): string | undefined {
  return [...candidates].sort((x, y) => distance(name, x) - distance(name, y))[0];
}

/** An audit's result as the command line prints it: `<title>: no drift`, or the count and a line a drift. */
export function describeDrifts(title: string, drifts: readonly Drift[]): string {
  if (drifts.length === 0) return `${title}: no drift`;
  return `${title}: ${drifts.length} drift${drifts.length === 1 ? '' : 's'}\n${formatDrifts(drifts)}`;
}
