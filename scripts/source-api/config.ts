import { z } from 'zod';
import { FaultRuleSchema, type FaultRuleInput } from './faults.ts';

export interface SourceApiConfig {
  /** Faults switched on at start (they can be changed later through /admin/faults). */
  faults: FaultRuleInput[];
  /** Serve a synthetic league season generated from this seed instead of the real data. */
  syntheticSeed: number | undefined;
}

/** SOURCE_API_FAULTS (a JSON fault rule or array of them) and SOURCE_API_SYNTHETIC_SEED. */
export function loadSourceApiConfig(env: NodeJS.ProcessEnv): SourceApiConfig {
  let faults: FaultRuleInput[] = [];
  if (env.SOURCE_API_FAULTS) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.SOURCE_API_FAULTS);
    } catch {
      throw new Error('SOURCE_API_FAULTS is not JSON');
    }
    const result = z.array(FaultRuleSchema).safeParse(Array.isArray(parsed) ? parsed : [parsed]);
    if (!result.success)
      throw new Error(
        `SOURCE_API_FAULTS is invalid: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    faults = result.data;
  }
  const seed = env.SOURCE_API_SYNTHETIC_SEED;
  if (seed !== undefined && !/^\d+$/.test(seed))
    throw new Error(`SOURCE_API_SYNTHETIC_SEED must be a whole number, got "${seed}"`);
  return { faults, syntheticSeed: seed === undefined ? undefined : Number(seed) };
}
