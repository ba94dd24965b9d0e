// The open-data example (examples/open-data): weekly partitions, three stages and a value gate,
// on the same kit as the reference pipeline, over the in-memory store and its stand-in portal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryPublisher, MemoryStore, manualClock } from '../../shared/testing/index.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { createHttpClient } from '../../shared/lib/http-client.ts';
import { createOrchestrator } from '../../shared/orchestration/orchestrator.ts';
import { createPhaseHandler } from '../../shared/runtime/phase-handler.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { TOPICS } from '../../shared/messages/messages.ts';
import { runAutoRetryTick } from '../../shared/recovery/auto-retry.ts';
import type { RunDoc } from '../../shared/orchestration/run-doc.ts';
import { openDataDefinition } from '../../examples/open-data/definition.ts';
import { openDataExpectations } from '../../examples/open-data/expectations.ts';
import { COLLECTIONS as DATA, createOpenDataProcessors } from '../../examples/open-data/processors.ts';
import { COUNTERS, daysOfWeek, FAULTY_WEEK, LAST_WEEK, weekFile } from '../../examples/open-data/data.ts';
import { startOpenDataPortal, type OpenDataPortal } from '../../examples/open-data/source.ts';
import { pubsubEvent } from '../support/factories.ts';
import { auditExpectations, auditRegistry } from '../../infra/validate/static-audit.ts';

let portal: OpenDataPortal;
beforeAll(async () => {
  portal = await startOpenDataPortal();
});
afterAll(() => portal.close());

function world() {
  const definition = openDataDefinition;
  const store = new MemoryStore();
  const publisher = new MemoryPublisher();
  const clock = manualClock();
  const logger = createMemoryLogger();
  const processors = createOpenDataProcessors({ OPEN_DATA_URL: portal.url });
  const orchestrator = createOrchestrator({
    definition,
    expectations: openDataExpectations,
    store,
    publisher,
    clock,
    logger,
  });
  const phases = Object.fromEntries(
    definition.phases.map((p) => [
      p.id,
      createPhaseHandler({
        definition,
        phaseId: p.id,
        processors,
        store,
        publisher,
        clock,
        logger,
        http: createHttpClient({ retries: 0 }),
      }),
    ]),
  );
  let cursor = 0;
  async function pumpAll(): Promise<void> {
    for (let guard = 0; guard < 200 && cursor < publisher.published.length; guard += 1) {
      const m = publisher.published[cursor]!;
      cursor += 1;
      const event = pubsubEvent(m.message, { messageId: m.messageId });
      if (m.topic === TOPICS.runRequests) await orchestrator.onRunRequest(event);
      else if (m.topic === TOPICS.processorCompletions) await orchestrator.onProcessorOutcome(event);
      else if (m.topic === TOPICS.autoRetryTicks)
        await runAutoRetryTick({ definition, store, publisher, clock, logger });
      else if (m.topic.startsWith('phase-')) await phases[m.topic.slice('phase-'.length)]!(event);
    }
  }
  async function run(week: string, messageId: string): Promise<RunDoc> {
    await orchestrator.onRunRequest(pubsubEvent({ partition: week, triggerSource: 'manual' }, { messageId }));
    await pumpAll();
    return store.docs(COLLECTIONS.runs).find((r) => r.partition === week) as unknown as RunDoc;
  }
  return { store, run };
}

describe('the open-data example pipeline', () => {
  it('is whole: every processor registered, every output expected', () => {
    expect(auditRegistry(openDataDefinition, createOpenDataProcessors({ OPEN_DATA_URL: 'http://x.invalid' }))).toEqual(
      [],
    );
    expect(auditExpectations(openDataDefinition, openDataExpectations)).toEqual([]);
  });

  it('runs a week through download, process and publish to SUCCESS, with the page built from the counts', async () => {
    const w = world();
    const run = await w.run('2024-W16', 'm1');
    expect(run).toMatchObject({ status: 'SUCCESS', lastError: null });
    const counts = w.store.docs(DATA.counts).filter((d) => d.week === '2024-W16');
    expect(counts).toHaveLength(COUNTERS.length * 7);
    expect(new Set(counts.map((c) => c.date))).toEqual(new Set(daysOfWeek('2024-W16')));
    const fileTotal = weekFile('2024-W16')!
      .trim()
      .split('\n')
      .slice(1)
      .reduce((n, line) => n + Number(line.split(',')[2]), 0);
    const page = await w.store.get(DATA.pages, '2024-W16');
    expect(page).toMatchObject({ week: '2024-W16', total: fileTotal, runId: run.runId });
    expect(String(page?.html)).toContain(`${fileTotal} in all`);
  });

  it('stops a week whose file holds a negative count at the value gate: the page is never built over it', async () => {
    const w = world();
    const run = await w.run(FAULTY_WEEK, 'm1');
    // The download passed its gate, the processing did not.
    expect(run.status).toBe('PARTIAL');
    expect(run.lastError).toMatch(
      new RegExp(
        `gate of phase process failed: daily_counts \\(week\\) 1 of 28 fail their check \\(${FAULTY_WEEK}_harbour-bridge_\\d{4}-\\d{2}-\\d{2}: count -3 is outside 0 … 100000\\)`,
      ),
    );
    expect(await w.store.get(DATA.pages, FAULTY_WEEK)).toBeUndefined();
    const entry = w.store.docs(COLLECTIONS.queue).find((e) => e.partition === FAULTY_WEEK);
    expect(entry).toMatchObject({ status: 'pending', errorReason: 'gate_failed', processor: 'daily-counts' });
  });

  it('waits for a week the portal has not published, rather than succeed empty', async () => {
    const w = world();
    const next = openDataDefinition.scheme.shift(LAST_WEEK, 1);
    const run = await w.run(next, 'm1');
    expect(run.status).not.toBe('SUCCESS');
    expect(await w.store.get(DATA.files, next)).toBeUndefined();
    const entry = w.store.docs(COLLECTIONS.queue).find((e) => e.partition === next);
    expect(entry).toMatchObject({ status: 'waiting', errorType: 'not_ready' });
    expect(String(entry?.lastError)).toContain(`the portal has not published ${next} yet`);
  });

  it('refuses a key that is not an ISO week, naming the scheme', async () => {
    const w = world();
    await w.run('2024-04-21', 'm1');
    expect(w.store.docs(COLLECTIONS.runs)).toEqual([]);
    const entry = w.store.docs(COLLECTIONS.queue)[0];
    expect(entry).toMatchObject({ status: 'failed_permanent' });
    expect(String(entry?.lastError)).toContain('an ISO week, YYYY-Www');
  });
});
