import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { phaseTopic, TOPICS } from '../../shared/messages/messages.ts';
import { phaseDecisionId, readRunPhase } from '../../shared/orchestration/run-doc.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { eventually, fileStacks, type Harness } from '../support/emulator-harness.ts';
import { findRunByMessage } from '../../scripts/lib/watch-run.ts';

const stacks = fileStacks({ label: 'orchestration', definition: testDefinition });

/** Publishes a run request and waits for the run to reach a final status. */
async function runToEnd(h: Harness, partition: string): Promise<Record<string, unknown>> {
  const messageId = await h.publishJson(TOPICS.runRequests, { partition, triggerSource: 'manual' });
  const runId = (await findRunByMessage(h.store, messageId))?.runId;
  if (!runId) throw new Error(`no run was created for run request ${messageId}`);
  let run: Record<string, unknown> | undefined;
  await eventually(
    async () => {
      run = await h.store.get(COLLECTIONS.runs, runId);
      return run !== undefined && ['SUCCESS', 'PARTIAL', 'FAILED'].includes(String(run.status));
    },
    { timeoutMs: 60_000, what: () => `run ${runId} to finish (now ${String(run?.status)})` },
  );
  return run!;
}

describe('orchestration on the emulators', () => {
  it('every completion delivered three times, processors completing concurrently: the next phase is triggered exactly once', async () => {
    // The phase functions publish every completion three times; the orchestrator publishes normally.
    const harness = await stacks.withFaults('dup-completions', (name): Record<string, string> =>
      name.startsWith('phase-') ? { PHASEGATE_FAULTS: JSON.stringify({ duplicatePublishes: 3 }) } : {},
    );
    const beta = await harness.observe(phaseTopic('beta'));
    const run = await runToEnd(harness, '2024-04-21');
    expect(run.status).toBe('SUCCESS');
    // Give late duplicates time to arrive; the count must not move.
    await new Promise((r) => setTimeout(r, 3000));
    expect(beta.messages).toHaveLength(1);
    // Each completion counted once, on its phase's document, however often it was delivered.
    const phases = await Promise.all(
      ['alpha', 'beta'].map((phase) =>
        readRunPhase(harness.store, phaseDecisionId(String(run.runId), phase)),
      ),
    );
    expect(phases.map((p) => Object.keys(p?.completed ?? {}).sort())).toEqual([
      ['gadgets', 'widgets'],
      ['summary'],
    ]);
    expect(
      await harness.store.get(COLLECTIONS.processorRuns, `${String(run.runId)}--beta--summary`),
    ).toMatchObject({
      attempts: 1,
      status: 'completed',
    });
  });

  it('a completion without its data fails the gate with the shortfall and does not trigger the next phase', async () => {
    const harness = stacks.shared;
    const beta = await harness.observe(phaseTopic('beta'));
    const run = await runToEnd(harness, '1997-05-01');
    expect(run).toMatchObject({
      status: 'FAILED',
      lastError: 'gate of phase alpha failed: widgets (partition) expected 3, found 2',
    });
    const gateEvents = await harness.store.query(COLLECTIONS.events, {
      filters: [
        { field: 'runId', op: '==', value: run.runId },
        { field: 'type', op: '==', value: 'gate_failed' },
      ],
    });
    expect(gateEvents[0]?.data.shortfalls).toEqual([
      { collection: 'widgets', partitionField: 'partition', expected: 3, found: 2, processors: ['widgets'] },
    ]);
    expect(await harness.store.get(COLLECTIONS.queue, `${String(run.runId)}--alpha--widgets`)).toMatchObject({
      status: 'pending',
      errorReason: 'gate_failed',
    });
    expect(beta.messages).toHaveLength(0);
  });

  it('the orchestrator killed after its decision and before its publish: the trigger still happens', async () => {
    const markerFile = join(mkdtempSync(join(tmpdir(), 'phasegate-crash-')), 'crashes');
    const crashes = [{ point: 'after-trigger-decision', times: 1, markerFile }];
    const harness = await stacks.withFaults('crash', (name): Record<string, string> =>
      name === 'orchestrator-completions' ? { PHASEGATE_FAULTS: JSON.stringify({ crashes }) } : {},
    );
    const run = await runToEnd(harness, '2024-04-22');
    expect(run.status).toBe('SUCCESS');
    expect(existsSync(markerFile) && readFileSync(markerFile, 'utf8')).toBe('1');
    expect(harness.stack.restarts.get('orchestrator-completions')).toBe(1);
    const outbox = await harness.store.query(COLLECTIONS.outbox, {
      filters: [{ field: 'runId', op: '==', value: run.runId }],
    });
    expect(outbox.every((o) => o.data.status === 'sent')).toBe(true);
  });

  it('a later processor failing for good makes the run PARTIAL; a first phase that cannot land makes it FAILED', async () => {
    const harness = stacks.shared;
    expect(await runToEnd(harness, '1995-05-01')).toMatchObject({
      status: 'PARTIAL',
      lastError: 'summary (permanent): summary of 1995-05-01 cannot be computed',
    });
    expect(await runToEnd(harness, '1998-05-01')).toMatchObject({
      status: 'FAILED',
      lastError: 'widgets (permanent): schema of 1998-05-01 is not supported',
    });
  });
});
