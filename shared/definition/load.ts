import type { z } from 'zod';
import { partitionScheme, type PartitionScheme } from './partition.ts';
import {
  PipelineDefinitionSchema,
  type PhaseSpec,
  type PipelineDefinition,
  type ProcessorSpec,
} from './schema.ts';

export class DefinitionError extends Error {
  override readonly name = 'DefinitionError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid pipeline definition:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/** `phases.1.subscription.x` reads better as `phases[raw].subscription.x`. */
function describePath(path: readonly PropertyKey[], raw: unknown): string {
  let node: unknown = raw;
  const parts: string[] = [];
  for (const key of path) {
    const child: unknown =
      Array.isArray(node) && typeof key === 'number'
        ? node[key]
        : typeof node === 'object' && node !== null
          ? (node as Record<PropertyKey, unknown>)[key]
          : undefined;
    if (typeof key === 'number') {
      const label =
        typeof child === 'object' && child !== null
          ? ((child as Record<string, unknown>).id ?? (child as Record<string, unknown>).name)
          : undefined;
      parts.push(typeof label === 'string' ? `[${label}]` : `[${key}]`);
    } else {
      parts.push(parts.length === 0 ? String(key) : `.${String(key)}`);
    }
    node = child;
  }
  return parts.join('') || '(root)';
}

export function formatDefinitionIssues(error: z.ZodError, raw: unknown): string[] {
  return error.issues.map((issue) => `${describePath(issue.path, raw)}: ${issue.message}`);
}

/** A loaded definition with the lookups every other part needs. */
export interface LoadedDefinition extends PipelineDefinition {
  /** The definition's partition scheme: parses, orders, steps and ranges its keys. */
  scheme: PartitionScheme;
  phase(id: string): PhaseSpec;
  processor(name: string): { phase: PhaseSpec; spec: ProcessorSpec } | undefined;
  nextPhase(id: string): PhaseSpec | undefined;
  processorNames(): string[];
}

/** Parse at load; an invalid definition fails here with every bad field named. */
export function loadDefinition(raw: unknown): LoadedDefinition {
  const result = PipelineDefinitionSchema.safeParse(raw);
  if (!result.success) throw new DefinitionError(formatDefinitionIssues(result.error, raw));
  const definition = result.data;
  const byId = new Map(definition.phases.map((phase) => [phase.id, phase]));
  const byProcessor = new Map(
    definition.phases.flatMap((phase) =>
      phase.processors.map((spec) => [spec.name, { phase, spec }] as const),
    ),
  );
  return {
    ...definition,
    scheme: partitionScheme(definition.partition),
    phase(id) {
      const phase = byId.get(id);
      if (!phase)
        throw new DefinitionError([`unknown phase "${id}"; phases are ${[...byId.keys()].join(', ')}`]);
      return phase;
    },
    processor: (name) => byProcessor.get(name),
    nextPhase(id) {
      const index = definition.phases.findIndex((phase) => phase.id === id);
      return index < 0 ? undefined : definition.phases[index + 1];
    },
    processorNames: () => [...byProcessor.keys()],
  };
}
