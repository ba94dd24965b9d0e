import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import type { ResourcePlan } from '../plan.ts';
import type { Drift } from './drift.ts';

/** The rows of the markdown table under a heading: the first column's `code` values. */
export function readmeTableKeys(readme: string, heading: string): string[] | null {
  const start = readme.split('\n').findIndex((line) => line.trim() === heading);
  if (start < 0) return null;
  const keys: string[] = [];
  let inTable = false;
  for (const line of readme.split('\n').slice(start + 1)) {
    if (line.startsWith('#')) break;
    if (!line.startsWith('|')) {
      if (inTable) break;
      continue;
    }
    inTable = true;
    const cell = /^\|\s*`([^`]+)`/.exec(line)?.[1];
    if (cell) keys.push(cell);
  }
  return keys;
}

/** README's contract tables against what the code and the plan really have. */
export function auditReadme(readme: string, definition: LoadedDefinition, plan: ResourcePlan): Drift[] {
  const drifts: Drift[] = [];
  const compare = (heading: string, documented: string[] | null, actual: readonly string[], what: string) => {
    if (!documented) {
      drifts.push({
        area: 'readme',
        message: `README has no "${heading}" table; the code has ${what}: ${actual.join(', ')}`,
      });
      return;
    }
    for (const name of actual)
      if (!documented.includes(name))
        drifts.push({
          area: 'readme',
          message: `${what} ${name} exists in the code, but README's "${heading}" table does not list it`,
        });
    for (const name of documented)
      if (!actual.includes(name))
        drifts.push({
          area: 'readme',
          message: `README's "${heading}" table lists ${name}, which the code does not have`,
        });
  };
  // README writes per-phase topics once, as patterns.
  const expand = (names: string[] | null) =>
    names?.flatMap((n) =>
      n.includes('<phaseId>') ? definition.phases.map((p) => n.replace('<phaseId>', p.id)) : [n],
    ) ?? null;
  compare('### Topics', expand(readmeTableKeys(readme, '### Topics')), plan.topics, 'topic');
  compare(
    '### Collections',
    readmeTableKeys(readme, '### Collections'),
    Object.values(COLLECTIONS),
    'collection',
  );
  const outputs = [
    ...new Set(
      definition.phases.flatMap((p) => p.processors.flatMap((s) => s.outputs.map((o) => o.collection))),
    ),
  ];
  compare(
    "### The reference pipeline's data (users query it)",
    readmeTableKeys(readme, "### The reference pipeline's data (users query it)"),
    outputs,
    'output collection',
  );
  return drifts;
}
