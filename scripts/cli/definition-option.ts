import { readFileSync } from 'node:fs';
import { DefinitionError, loadDefinition, type LoadedDefinition } from '../../shared/definition/load.ts';
import type { LoadedPipeline } from '../lib/pipeline-module.ts';
import { UsageError } from './usage-error.ts';

/** `--definition file.json` audits or deploys that definition instead of the pipeline's own. */
export function definitionFrom(file: string | undefined, loaded: LoadedPipeline): LoadedDefinition {
  if (!file) return loaded.pipeline.definition;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(
      `cannot read the definition ${file}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  try {
    return loadDefinition(raw);
  } catch (error) {
    if (error instanceof DefinitionError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
}
