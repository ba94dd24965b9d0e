import { describe, expect, it } from 'vitest';
import { DefinitionError, loadDefinition } from '../../shared/definition/load.ts';
import { testDefinitionInput } from '../fixtures/test-pipeline/definition.ts';

type Mutable = ReturnType<typeof clone>;
const clone = () =>
  structuredClone(testDefinitionInput) as unknown as {
    name: string;
    phases: {
      id: string;
      processors: { name: string }[];
      subscription: Record<string, number>;
      function: Record<string, number>;
    }[];
    schedules: Record<string, { cron: string }>;
  };

function problemsOf(mutate: (d: Mutable) => void): string[] {
  const raw = clone();
  mutate(raw);
  try {
    loadDefinition(raw);
  } catch (error) {
    if (error instanceof DefinitionError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('loadDefinition', () => {
  it('accepts the test definition and fills defaults', () => {
    const d = loadDefinition(testDefinitionInput);
    expect(loadDefinition({ ...testDefinitionInput, queue: undefined }).queue).toEqual({
      maxRetries: 3,
      notReadyRetrySeconds: 900,
      notReadyDeadlineSeconds: 86_400,
      retryBackoffSeconds: 60,
      maxRetryBackoffSeconds: 21_600,
      retryingStaleSeconds: 1800,
    });
    expect(d.phases[0]?.processors[0]?.outputs[0]?.partitionField).toBe('partition');
    expect(d.nextPhase('alpha')?.id).toBe('beta');
    expect(d.nextPhase('beta')).toBeUndefined();
    expect(d.processor('summary')?.phase.id).toBe('beta');
    expect(d.processorNames()).toEqual(['widgets', 'gadgets', 'summary']);
  });

  it.each<[string, (d: Mutable) => void, string]>([
    [
      'too few delivery attempts',
      (d) => void (d.phases[1]!.subscription.maxDeliveryAttempts = 3),
      'phases[beta].subscription.maxDeliveryAttempts: Too small: expected number to be >=5',
    ],
    [
      'ack deadline not above the timeout',
      (d) => void (d.phases[0]!.subscription.ackDeadlineSeconds = 20),
      'phases[alpha].subscription.ackDeadlineSeconds: must exceed function.timeoutSeconds (20)',
    ],
    [
      'backoff range inverted',
      (d) => void (d.phases[0]!.subscription.maxBackoffSeconds = 0),
      'phases[alpha].subscription.maxBackoffSeconds: must be at least minBackoffSeconds (1)',
    ],
    [
      'a duplicate phase id',
      (d) => void (d.phases[1]!.id = 'alpha'),
      'phases[alpha].id: duplicate phase id "alpha" (also phases[0])',
    ],
    [
      'a processor in two phases',
      (d) => void (d.phases[1]!.processors[0]!.name = 'widgets'),
      'duplicate processor name "widgets" (also in phase "alpha")',
    ],
    [
      'a phase id that cannot be a topic name',
      (d) => void (d.phases[0]!.id = 'Alpha Phase'),
      'phases[Alpha Phase].id: lowercase letters, digits and dashes',
    ],
    [
      'an invalid cron',
      (d) => void (d.schedules.reconcile!.cron = 'every minute'),
      'schedules.reconcile.cron: invalid cron expression "every minute"',
    ],
    [
      'a memory size Cloud Functions does not offer',
      (d) => void (d.phases[0]!.function.memoryMb = 300),
      'phases[alpha].function.memoryMb',
    ],
    [
      'an unknown field',
      (d) => void Object.assign(d.phases[0]!, { procesors: [] }),
      'phases[alpha]: Unrecognized key: "procesors"',
    ],
  ])('fails at load on %s, naming the field', (_label, mutate, expected) => {
    const problems = problemsOf(mutate);
    expect(
      problems.some((p) => p.includes(expected)),
      `problems were:\n${problems.join('\n')}`,
    ).toBe(true);
  });

  it('says which phase is unknown and which exist', () => {
    expect(() => loadDefinition(testDefinitionInput).phase('gamma')).toThrow(
      'unknown phase "gamma"; phases are alpha, beta',
    );
  });
});
