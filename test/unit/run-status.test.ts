import { describe, expect, it } from 'vitest';
import {
  appendHistory,
  computeRunStatus,
  lastErrorOf,
  MAX_STATUS_HISTORY,
  type RunState,
} from '../../shared/orchestration/run-status.ts';

const base = (): RunState => ({
  phaseOrder: ['a', 'b', 'c'],
  phases: {
    a: { status: 'RUNNING', expected: ['a1', 'a2'], done: 0 },
    b: { status: 'PENDING', expected: ['b1'], done: 0 },
    c: { status: 'PENDING', expected: ['c1'], done: 0 },
  },
  failures: {},
  gateFailures: {},
});
const failure = (phase: string, status: 'waiting' | 'failed_permanent') => ({
  phase,
  status,
  errorType: 'permanent',
  message: 'boom',
  at: '2026-01-01T00:00:00Z',
});

describe('computeRunStatus', () => {
  it.each<[string, (r: RunState) => void, string]>([
    ['nothing started', (r) => void (r.phases.a!.status = 'PENDING'), 'NOT_STARTED'],
    ['root phase running', () => undefined, 'RUNNING'],
    ['last phase passed', (r) => Object.values(r.phases).forEach((p) => (p.status = 'SUCCEEDED')), 'SUCCESS'],
    [
      'root processor failed for good',
      (r) => void (r.failures.a1 = failure('a', 'failed_permanent')),
      'FAILED',
    ],
    ['root gate failed', (r) => void (r.gateFailures.a = 'games expected 4, found 3'), 'FAILED'],
    [
      'later processor failed for good',
      (r) => void ((r.phases.a!.status = 'SUCCEEDED'), (r.failures.b1 = failure('b', 'failed_permanent'))),
      'PARTIAL',
    ],
    [
      'later gate failed',
      (r) => void ((r.phases.a!.status = 'SUCCEEDED'), (r.gateFailures.b = 'x')),
      'PARTIAL',
    ],
    [
      'a processor waiting for its source is not a failure',
      (r) => void (r.failures.a1 = failure('a', 'waiting')),
      'RUNNING',
    ],
  ])('%s -> %s', (_label, change, status) => {
    const run = base();
    change(run);
    expect(computeRunStatus(run)).toBe(status);
  });

  it('names the first failing processor in phase order, capped at 200 characters', () => {
    const run = base();
    run.failures.c1 = failure('c', 'failed_permanent');
    run.failures.b1 = { ...failure('b', 'failed_permanent'), message: 'x'.repeat(500) };
    const lastError = lastErrorOf(run)!;
    expect(lastError.startsWith('b1 (permanent): xxx')).toBe(true);
    expect(lastError).toHaveLength(200);
  });

  it('appends history only on change and keeps the newest 50', () => {
    let history = appendHistory([], { status: 'RUNNING', at: 't0', reason: 'start' });
    history = appendHistory(history, { status: 'RUNNING', at: 't1', reason: 'again' });
    expect(history).toHaveLength(1);
    for (let i = 0; i < 120; i += 1)
      history = appendHistory(history, {
        status: i % 2 ? 'RUNNING' : 'PARTIAL',
        at: `t${i}`,
        reason: 'flip',
      });
    expect(history).toHaveLength(MAX_STATUS_HISTORY);
    expect(history.at(-1)?.at).toBe('t119');
  });
});
