// The two settings of bookkeeping retention: how long (the definition's `retention.days`) and who
// deletes locally (PHASEGATE_TTL_SWEEP: the reconciler where no TTL policy does).
import { describe, expect, it } from 'vitest';
import { loadConfig, sweepsExpired } from '../../shared/config.ts';
import { DefinitionError, loadDefinition } from '../../shared/definition/load.ts';
import { testDefinitionInput } from '../fixtures/test-pipeline/definition.ts';

const problems = (retention: unknown): readonly string[] => {
  try {
    loadDefinition({ ...testDefinitionInput, retention });
    return [];
  } catch (error) {
    if (error instanceof DefinitionError) return error.problems;
    throw error;
  }
};

describe('retention settings', () => {
  it('keeps bookkeeping 30 days unless the definition says otherwise', () => {
    expect(loadDefinition(testDefinitionInput).retention).toEqual({ days: 30 });
    expect(loadDefinition({ ...testDefinitionInput, retention: { days: 90 } }).retention).toEqual({
      days: 90,
    });
  });

  it('refuses a retention that is not a whole number of days, or shorter than Pub/Sub can still deliver', () => {
    expect(problems({ days: 7 })).toEqual([
      'retention.days: at least 14 days: Pub/Sub may deliver a message for 7 days and its dead letter for 7 ' +
        'more, and each must still find its attempt record',
    ]);
    expect(problems({ days: 20.5 })).toEqual(['retention.days: a whole number of days']);
    expect(problems({ days: '30' })).toEqual(['retention.days: a number of days']);
    expect(problems({ weeks: 3 })).toEqual(['retention: Unrecognized key: "weeks"']);
    expect(problems({ days: 14 })).toEqual([]);
  });

  it('sweeps against the emulator only, unless PHASEGATE_TTL_SWEEP says on or off', () => {
    const env = (vars: Record<string, string>) => ({ GOOGLE_CLOUD_PROJECT: 'p', ...vars });
    const sweeps = (vars: Record<string, string>) => sweepsExpired(loadConfig(env(vars)), env(vars));
    expect(sweeps({})).toBe(false);
    expect(sweeps({ FIRESTORE_EMULATOR_HOST: '127.0.0.1:8080' })).toBe(true);
    expect(sweeps({ PHASEGATE_TTL_SWEEP: 'on' })).toBe(true);
    expect(sweeps({ PHASEGATE_TTL_SWEEP: 'off', FIRESTORE_EMULATOR_HOST: '127.0.0.1:8080' })).toBe(false);
    expect(() => loadConfig(env({ PHASEGATE_TTL_SWEEP: 'yes' }))).toThrow(
      /invalid configuration: PHASEGATE_TTL_SWEEP: .*"auto"\|"on"\|"off"/,
    );
  });
});
