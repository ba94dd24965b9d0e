import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { expectationFor, type GateExpectations } from '../../shared/orchestration/gate.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { describeIndex, type FirestoreIndex } from '../../shared/store/indexes.ts';
import type { ResourcePlan } from '../plan.ts';
import { closest, type Drift } from './drift.ts';

/** Every processor of the definition has code, and every piece of code is in the definition. */
export function auditRegistry(
  definition: LoadedDefinition,
  registry: Readonly<Record<string, unknown>>,
): Drift[] {
  const drifts: Drift[] = [];
  const configured = definition.phases.flatMap((phase) =>
    phase.processors.map((p, i) => ({ phase: phase.id, index: i, name: p.name })),
  );
  const registered = Object.keys(registry);
  const unregistered = registered.filter((name) => !configured.some((c) => c.name === name));
  for (const c of configured.filter((c) => !(c.name in registry))) {
    const guess = closest(c.name, unregistered.length ? unregistered : registered);
    drifts.push({
      area: 'registry',
      message:
        `definition phases[${c.phase}].processors[${c.index}] names "${c.name}", which the processor registry does not have` +
        (guess
          ? `; the registry has "${guess}"${unregistered.includes(guess) ? ', which no phase names (renamed on one side only?)' : ''}`
          : ''),
    });
  }
  for (const name of unregistered) {
    if (drifts.some((d) => d.message.includes(`"${name}", which no phase names`))) continue;
    drifts.push({
      area: 'registry',
      message: `the processor registry has "${name}", which no phase of the definition names: it would never run`,
    });
  }
  return drifts;
}

/**
 * Every output of every phase has an expectation (a gate fails closed on one that has none), and
 * every expectation is of an output the definition declares (one that is not was renamed on one
 * side only, and checks nothing).
 */
export function auditExpectations(definition: LoadedDefinition, expectations: GateExpectations): Drift[] {
  const drifts: Drift[] = [];
  for (const phase of definition.phases) {
    for (const processor of phase.processors) {
      for (const output of processor.outputs) {
        if (expectationFor(expectations, phase.id, output.collection, output.partitionField) !== undefined)
          continue;
        drifts.push({
          area: 'expectations',
          message:
            `phases[${phase.id}].processors[${processor.name}] writes ${output.collection} (${output.partitionField}), ` +
            `for which the expectations name no minimum: ` +
            `its gate would fail closed; add ${phase.id}.${output.collection}.${output.partitionField} (0 if nothing is expected)`,
        });
      }
    }
  }
  for (const [phaseId, collections] of Object.entries(expectations.table)) {
    const phase = definition.phases.find((p) => p.id === phaseId);
    if (!phase) {
      const guess = closest(
        phaseId,
        definition.phases.map((p) => p.id),
      );
      drifts.push({
        area: 'expectations',
        message: `the expectations name phase "${phaseId}", which the definition does not have${guess ? `; it has "${guess}"` : ''}`,
      });
      continue;
    }
    const declared = phase.processors.flatMap((p) =>
      p.outputs.map((o) => `${o.collection}.${o.partitionField}`),
    );
    for (const [collection, fields] of Object.entries(collections)) {
      for (const field of Object.keys(fields)) {
        if (declared.includes(`${collection}.${field}`)) continue;
        const guess = closest(`${collection}.${field}`, declared);
        drifts.push({
          area: 'expectations',
          message:
            `the expectations of ${phaseId} name ${collection} (${field}), which no processor of ${phaseId} ` +
            `declares as an output: it checks nothing${guess ? `; the phase writes ${guess}` : ''}`,
        });
      }
    }
  }
  return drifts;
}

/** The plan deploys what the entry module registers, as HTTP functions, and nothing is registered but not deployed. */
export function auditEntryPoints(
  plan: ResourcePlan,
  registered: (name: string) => 'http' | 'other' | undefined,
  allRegistered: readonly string[],
): Drift[] {
  const drifts: Drift[] = [];
  for (const fn of plan.functions) {
    const kind = registered(fn.entryPoint);
    if (!kind)
      drifts.push({
        area: 'entry points',
        message: `the plan deploys ${fn.name} with entry point "${fn.entryPoint}", which functions/index.ts does not register`,
      });
    else if (kind !== 'http')
      drifts.push({
        area: 'entry points',
        message: `entry point "${fn.entryPoint}" is not an HTTP function, but its push subscription (plan) calls it over HTTP`,
      });
  }
  for (const name of allRegistered) {
    if (!plan.functions.some((f) => f.entryPoint === name))
      drifts.push({
        area: 'entry points',
        message: `functions/index.ts registers "${name}", which the plan does not deploy`,
      });
  }
  return drifts;
}

/** The index file: no duplicates, and no index on a collection the code does not have. */
export function auditIndexes(
  definition: LoadedDefinition,
  indexes: readonly FirestoreIndex[],
  required: readonly FirestoreIndex[],
): Drift[] {
  const drifts: Drift[] = [];
  const known = new Set<string>([
    ...Object.values(COLLECTIONS),
    ...definition.phases.flatMap((p) => p.processors.flatMap((s) => s.outputs.map((o) => o.collection))),
  ]);
  const seen = new Set<string>();
  for (const index of indexes) {
    const key = describeIndex(index);
    if (seen.has(key))
      drifts.push({ area: 'indexes', message: `firestore.indexes.json declares ${key} twice` });
    seen.add(key);
    if (!known.has(index.collectionGroup))
      drifts.push({
        area: 'indexes',
        message:
          `firestore.indexes.json has an index on ${index.collectionGroup}, a collection neither the kit nor the ` +
          `definition has (renamed?)`,
      });
  }
  for (const index of required) {
    if (!seen.has(describeIndex(index)))
      drifts.push({
        area: 'indexes',
        message:
          `the code queries ${describeIndex(index)}, which firestore.indexes.json does not declare: production ` +
          `Firestore refuses that query`,
      });
  }
  return drifts;
}
