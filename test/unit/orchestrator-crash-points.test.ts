import { describe, expect, it } from 'vitest';
import type { GateExpectations } from '../../shared/orchestration/gate.ts';
import type { Alert } from '../../shared/recovery/notifier.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { testExpectations } from '../fixtures/test-pipeline/expectations.ts';
import { pubsubEvent } from '../support/factories.ts';
import { requestsOn, rid, world } from '../support/orchestrator-world.ts';

describe('crash points', () => {
  it('fire only between a decision that sends something and its send: a failed gate still alerts once', async () => {
    const alerts: Alert[] = [];
    const { gadgets: _forgotten, ...alpha } = testExpectations.table.alpha!;
    const forgetful: GateExpectations = { table: { ...testExpectations.table, alpha } };
    const w = world({
      crashAt: 'after-trigger-decision',
      expectations: forgetful,
      notifier: (a) => Promise.resolve(void alerts.push(a)),
    });
    await w.orchestrator.onRunRequest(
      pubsubEvent({ partition: '2024-04-21', triggerSource: 'manual' }, { messageId: 'm1' }),
    );
    // The gate fails: nothing is sent, so no crash there (a crash would cost the NEEDS MANUAL FIX alert).
    await w.pump();
    const entry = await w.store.get(COLLECTIONS.queue, `${rid('2024-04-21', 'm1')}--alpha--gadgets`);
    expect(entry).toMatchObject({ status: 'failed_permanent', needsManualFix: true });
    expect(alerts.map((a) => `${a.kind}:${a.processor ?? '-'}`)).toEqual([
      'gate_failed:-',
      'failed_permanent:gadgets',
    ]);
    expect(requestsOn(w, 'beta')).toHaveLength(0);
  });

  it('a refused run request starts nothing and does not crash after its decision', async () => {
    const w = world({ crashAt: 'after-run-decision' });
    // From phase beta, for a partition that never ran: refused (NEEDS MANUAL FIX), nothing to send.
    await w.orchestrator.onRunRequest(
      pubsubEvent(
        { partition: '2024-04-22', triggerSource: 'manual', startPhase: 'beta' },
        { messageId: 'm2' },
      ),
    );
    expect(w.store.docs(COLLECTIONS.queue).map((e) => e.status)).toEqual(['failed_permanent']);
    // The next request that does start a run crashes after its decision, and its redelivery sends it.
    const start = pubsubEvent({ partition: '2024-04-22', triggerSource: 'manual' }, { messageId: 'm3' });
    await expect(w.orchestrator.onRunRequest(start)).rejects.toThrow(/crash at after-run-decision/);
    expect(requestsOn(w, 'alpha')).toHaveLength(0);
    await w.orchestrator.onRunRequest(start);
    expect(requestsOn(w, 'alpha')).toHaveLength(2);
  });
});
