import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readIndexesFileWhole } from '../../shared/adapters/declared-indexes.ts';
import { registeredEntryPoints } from '../../shared/adapters/functions-entry.ts';
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { planResources } from '../../infra/plan.ts';
import type { Drift } from '../../infra/validate/drift.ts';
import { requiredIndexes } from '../../infra/validate/queries.ts';
import { auditPlan } from '../../infra/validate/plan-audit.ts';
import { auditReadme } from '../../infra/validate/readme-audit.ts';
import { auditTtlOverrides } from '../../infra/validate/ttl-audit.ts';
import {
  auditEntryPoints,
  auditExpectations,
  auditIndexes,
  auditRegistry,
} from '../../infra/validate/static-audit.ts';
import type { LoadedPipeline } from './pipeline-module.ts';

/** The kit's own checkout: its README documents the kit's contract and the reference pipeline. */
const kitRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The processors of a pipeline as its functions build them. A factory reads its settings at cold
 * start; here the settings deploy requires are placeholders where unset (building does no I/O).
 */
function processorsOf(loaded: LoadedPipeline): Readonly<Record<string, unknown>> {
  const { processors, operations } = loaded.pipeline;
  if (typeof processors !== 'function') return processors;
  const unset = (operations?.requiredEnv ?? []).filter((name) => process.env[name] === undefined);
  for (const name of unset) process.env[name] = 'http://validate.invalid';
  try {
    return processors();
  } finally {
    for (const name of unset) delete process.env[name];
  }
}

/**
 * The static audit: the definition against the processor registry, the gate expectations, the registered entry points,
 * the plan's delivery invariants, the project's firestore.indexes.json and (for the kit's reference pipeline) README's
 * contract tables. `definition` is the pipeline's own unless another is audited against its code (`--definition`).
 */
export async function staticAudit(
  loaded: LoadedPipeline,
  definition: LoadedDefinition = loaded.pipeline.definition,
): Promise<Drift[]> {
  const plan = planResources(definition);
  const { getFunction } = await import('@google-cloud/functions-framework/testing');
  const registered = registeredEntryPoints(loaded.pipeline);
  const drifts: Drift[] = [
    ...auditRegistry(definition, processorsOf(loaded)),
    ...auditExpectations(definition, loaded.pipeline.expectations),
    ...auditEntryPoints(plan, (name) => (registered.has(name) && getFunction(name) ? 'http' : undefined), [
      ...registered.keys(),
    ]),
    ...auditPlan(plan),
  ];
  try {
    const file = readIndexesFileWhole(join(loaded.root, 'firestore.indexes.json'));
    drifts.push(
      ...auditIndexes(definition, file.indexes, requiredIndexes()),
      ...auditTtlOverrides(file.fieldOverrides),
    );
  } catch (error) {
    drifts.push({ area: 'indexes', message: error instanceof Error ? error.message : String(error) });
  }
  if (resolve(loaded.root) === resolve(kitRoot) && loaded.name === 'reference')
    drifts.push(...auditReadme(readFileSync(join(loaded.root, 'README.md'), 'utf8'), definition, plan));
  return drifts;
}
