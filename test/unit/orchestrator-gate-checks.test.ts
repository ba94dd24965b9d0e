import { describe, expect, it } from 'vitest';
import { runAutoRetryTick } from '../../shared/recovery/auto-retry.ts';
import type { Alert } from '../../shared/recovery/notifier.ts';
import type { GateExpectations } from '../../shared/orchestration/gate.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { testExpectations } from '../fixtures/test-pipeline/expectations.ts';
import { pubsubEvent } from '../support/factories.ts';
import { requestsOn, rid, world } from '../support/orchestrator-world.ts';

describe('orchestrator', () => {
  it('fails the gate when a completion was published without the data, with the exact shortfall', async () => {
    const w = world();
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '1997-05-01', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    expect(requestsOn(w, 'beta')).toHaveLength(0);
    const gate = w.store.docs(COLLECTIONS.events).find((e) => e.type === 'gate_failed');
    expect(gate?.shortfalls).toEqual([
      { collection: 'widgets', partitionField: 'partition', expected: 3, found: 2, processors: ['widgets'] },
    ]);
    expect(await w.store.get(COLLECTIONS.queue, `${rid('1997-05-01', 'm1')}--alpha--widgets`)).toMatchObject({
      status: 'pending',
      errorReason: 'gate_failed',
      processor: 'widgets',
    });
    expect(await w.store.get(COLLECTIONS.runs, rid('1997-05-01', 'm1'))).toMatchObject({
      status: 'FAILED',
      lastError: 'gate of phase alpha failed: widgets (partition) expected 3, found 2',
    });
  });

  it('fails the gate on values, not only counts: every document is checked, the first invalid ones named', async () => {
    // Widgets have index 0, 1, 2; this check allows only 0 and 1. Three documents, the minimum met.
    const valueChecked: GateExpectations = {
      table: {
        ...testExpectations.table,
        alpha: {
          ...testExpectations.table.alpha!,
          widgets: {
            partition: {
              min: 3,
              each: (doc) =>
                Number(doc.data.index) < 2 ? undefined : `index ${String(doc.data.index)} is out of range`,
            },
          },
        },
      },
    };
    const w = world({ expectations: valueChecked });
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    expect(requestsOn(w, 'beta')).toHaveLength(0);
    const runId = rid('2024-04-21', 'm1');
    expect(w.store.docs(COLLECTIONS.events).find((e) => e.type === 'gate_failed')?.shortfalls).toEqual([
      {
        collection: 'widgets',
        partitionField: 'partition',
        expected: 3,
        found: 3,
        processors: ['widgets'],
        invalid: { count: 1, first: [{ id: '2024-04-21_2', problem: 'index 2 is out of range' }] },
      },
    ]);
    expect(await w.store.get(COLLECTIONS.runs, runId)).toMatchObject({
      status: 'FAILED',
      lastError:
        'gate of phase alpha failed: widgets (partition) 1 of 3 fail their check (2024-04-21_2: index 2 is out of range)',
    });
    expect(await w.store.get(COLLECTIONS.queue, `${runId}--alpha--widgets`)).toMatchObject({
      status: 'pending',
      errorReason: 'gate_failed',
    });
  });

  it('a value check that throws on a document fails the gate naming it, rather than failing the gate itself', async () => {
    const throwing: GateExpectations = {
      table: {
        ...testExpectations.table,
        alpha: {
          ...testExpectations.table.alpha!,
          widgets: {
            partition: {
              min: 3,
              each: (doc) =>
                doc.data.index === 1 ? (doc.data.missing as { x: number }).x.toFixed() : undefined,
            },
          },
        },
      },
    };
    const w = world({ expectations: throwing });
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    const run = await w.store.get(COLLECTIONS.runs, rid('2024-04-21', 'm1'));
    expect(run?.status).toBe('FAILED');
    expect(String(run?.lastError)).toMatch(
      /widgets \(partition\) 1 of 3 fail their check \(2024-04-21_1: its check threw: .*undefined/,
    );
  });

  it("a value check that passes lets the run through, and only this run's documents are checked", async () => {
    const checked: string[] = [];
    const valueChecked: GateExpectations = {
      table: {
        ...testExpectations.table,
        alpha: {
          ...testExpectations.table.alpha!,
          widgets: { partition: { min: 3, each: (doc) => void checked.push(doc.id) } },
        },
      },
    };
    const w = world({ expectations: valueChecked });
    // A widget of another partition and a stale one of this partition: neither is this run's.
    await w.store.set('widgets', 'other', { partition: '2024-04-20', index: 9, runId: 'x' });
    await w.store.set('widgets', 'stale', { partition: '2024-04-21', index: 9, runId: 'old-run' });
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    expect((await w.store.get(COLLECTIONS.runs, rid('2024-04-21', 'm1')))?.status).toBe('SUCCESS');
    expect(checked.sort()).toEqual(['2024-04-21_0', '2024-04-21_1', '2024-04-21_2']);
  });

  it('fails closed when the expectations forget an output: NEEDS MANUAL FIX naming it, an alert, never a re-run', async () => {
    const alerts: Alert[] = [];
    // The gadgets output has no expectation: before, it counted as "0 expected" and the gate passed.
    const { gadgets: _forgotten, ...alpha } = testExpectations.table.alpha!;
    const forgetful: GateExpectations = { table: { ...testExpectations.table, alpha } };
    const w = world({ expectations: forgetful, notifier: (a) => Promise.resolve(void alerts.push(a)) });
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    expect(requestsOn(w, 'beta')).toHaveLength(0);
    const runId = rid('2024-04-21', 'm1');
    const entry = await w.store.get(COLLECTIONS.queue, `${runId}--alpha--gadgets`);
    expect(entry).toMatchObject({ status: 'failed_permanent', needsManualFix: true, errorType: 'permanent' });
    expect(entry).toMatchObject({ errorReason: 'gate_no_expectation', nextRetryAt: null });
    const named =
      "gadgets (partition): the pipeline's expectations name no minimum for this output of gadgets";
    expect(String(entry?.lastError)).toContain(named);
    expect(await w.store.get(COLLECTIONS.queue, `${runId}--alpha--widgets`)).toBeUndefined();
    expect(alerts.filter((a) => a.kind === 'failed_permanent').map((a) => a.processor)).toEqual(['gadgets']);
    expect(await w.store.get(COLLECTIONS.runs, runId)).toMatchObject({ status: 'FAILED' });
    // A tick much later re-runs nothing: a re-run cannot add an expectation.
    w.clock.advance(24 * 3600_000);
    const before = requestsOn(w, 'alpha').length;
    await runAutoRetryTick({
      definition: testDefinition,
      store: w.store,
      publisher: w.publisher,
      clock: w.clock,
      logger: w.logger,
    });
    expect(requestsOn(w, 'alpha')).toHaveLength(before);
  });

  it('counts stale documents of an earlier run as missing', async () => {
    const w = world();
    await w.store.writeBatch(
      [0, 1, 2].map((i) => ({
        collection: 'widgets',
        id: `1996-05-01_${i}`,
        data: { partition: '1996-05-01', runId: 'an-old-run' },
      })),
    );
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '1996-05-01', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    await w.pump();
    expect(w.store.docs(COLLECTIONS.events).find((e) => e.type === 'gate_failed')?.message).toBe(
      'widgets (partition) expected 3, found 0',
    );
    expect(requestsOn(w, 'beta')).toHaveLength(0);
  });
});
