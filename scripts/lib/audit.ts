import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { referenceExpectations } from '../../functions/pipeline/gate-expectations.ts';
import { createReferenceProcessors } from '../../functions/pipeline/processors.ts';
import { readIndexesFile } from '../../shared/adapters/declared-indexes.ts';
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { planResources } from '../../infra/plan.ts';
import type { Drift } from '../../infra/validate/drift.ts';
import { requiredIndexes } from '../../infra/validate/queries.ts';
import {
  auditEntryPoints,
  auditExpectations,
  auditIndexes,
  auditPlan,
  auditReadme,
  auditRegistry,
} from '../../infra/validate/static-audit.ts';

/**
 * The static audit: the definition against the processor registry, the gate expectations, the registered entry points,
 * the plan's delivery invariants, firestore.indexes.json and README's contract tables.
 */
export async function staticAudit(root: string, definition: LoadedDefinition): Promise<Drift[]> {
  const plan = planResources(definition);
  // Registers every function with the framework; builds no client (they are made at first use).
  const { registeredEntryPoints } = await import('../../shared/adapters/functions-entry.ts');
  await import('../../functions/index.ts');
  const { getFunction } = await import('@google-cloud/functions-framework/testing');
  const registered = registeredEntryPoints();
  const drifts: Drift[] = [
    // Building the processors does no I/O; the URL is never called.
    ...auditRegistry(definition, createReferenceProcessors({ sourceApiUrl: 'http://validate.invalid' })),
    ...auditExpectations(definition, referenceExpectations),
    ...auditEntryPoints(plan, (name) => (registered.has(name) && getFunction(name) ? 'http' : undefined), [
      ...registered.keys(),
    ]),
    ...auditPlan(plan),
  ];
  try {
    drifts.push(...auditIndexes(definition, readIndexesFile(join(root, 'firestore.indexes.json')), requiredIndexes()));
  } catch (error) {
    drifts.push({ area: 'indexes', message: error instanceof Error ? error.message : String(error) });
  }
  drifts.push(...auditReadme(readFileSync(join(root, 'README.md'), 'utf8'), definition, plan));
  return drifts;
}
