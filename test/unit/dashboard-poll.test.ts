import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { countReads } from '../../scripts/bench/history-reads.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { loadDashboardAuth } from '../../shared/operations/dashboard/auth.ts';
import { createDashboard } from '../../shared/operations/dashboard/handler.ts';
import { BACKFILL_SCRIPT } from '../../shared/operations/dashboard/page-backfill-script.ts';
import { CONTROLS_SCRIPT } from '../../shared/operations/dashboard/page-controls-script.ts';
import { DASHBOARD_SCRIPT } from '../../shared/operations/dashboard/page-script.ts';
import { newRunDoc } from '../../shared/orchestration/run-doc.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { MemoryPublisher } from '../../shared/testing/memory-publisher.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { makeQueueEntry, manualClock } from '../support/factories.ts';

interface State {
  version: string;
  unchanged?: true;
  runs?: { runId: string; partition: string }[];
  queue?: { requestId: string }[];
  queueOpen?: number;
}

function dashboard() {
  const memory = new MemoryStore();
  const { store, reads } = countReads(memory);
  const handle = createDashboard({
    definition: testDefinition,
    store,
    publisher: new MemoryPublisher(),
    clock: manualClock(),
    logger: createMemoryLogger(),
    auth: loadDashboardAuth({ DASHBOARD_AUTH: 'off' }),
  });
  const state = async (query: Record<string, string> = {}): Promise<State> => {
    const response = await handle({ method: 'GET', path: '/api/state', query, headers: {}, body: undefined });
    expect(response.status).toBe(200);
    return JSON.parse(response.body) as State;
  };
  return { memory, reads, state };
}

async function seedRun(store: MemoryStore, runId: string, partition: string, at: string) {
  const run = newRunDoc({
    definition: testDefinition,
    requestMessageId: runId,
    runId,
    partition,
    triggerSource: 'manual',
    requestedBy: null,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    startPhase: 'alpha',
    processors: ['widgets', 'gadgets'],
    now: at,
  });
  await store.set(COLLECTIONS.runs, runId, { ...run });
}

describe('dashboard polls', () => {
  it('answer "unchanged" from four reads while the version holds, and read it all again on any change', async () => {
    const d = dashboard();
    await seedRun(d.memory, 'run-1', '2026-02-27', '2026-02-28T10:00:00.000Z');
    const first = await d.state();
    expect(first.runs).toHaveLength(1);
    const before = d.reads();
    expect(await d.state({ since: first.version })).toEqual({
      unchanged: true,
      version: first.version,
      generatedAt: expect.any(String) as string,
      controlDlq: null,
    });
    expect(d.reads() - before).toBe(4);
    const changes: [string, () => Promise<unknown>][] = [
      [
        'an event',
        () => d.memory.set(COLLECTIONS.events, 'e1', { eventId: 'e1', at: '2026-02-28T10:01:00.000Z' }),
      ],
      ['a run update', () => seedRun(d.memory, 'run-1', '2026-02-27', '2026-02-28T10:02:00.000Z')],
      // Written by hand: no event, no updatedAt.
      ['an open entry', () => d.memory.set(COLLECTIONS.queue, 'q1', makeQueueEntry({ requestId: 'q1' }))],
      // A backfill skipping partitions already done writes no run and no event.
      [
        'a backfill update',
        () => d.memory.set(COLLECTIONS.backfills, 'b1', { updatedAt: '2026-02-28T10:03:00.000Z' }),
      ],
    ];
    let version = first.version;
    for (const [what, change] of changes) {
      await change();
      const next = await d.state({ since: version });
      expect(next.unchanged, what).toBeUndefined();
      expect(next.runs, what).toHaveLength(1);
      expect(next.version, what).not.toBe(version);
      version = next.version;
    }
    expect((await d.state({ since: 'a-version-of-another-state' })).runs).toHaveLength(1);
  });

  it('read the oldest 200 open entries and how many there are, and a partition by its newest runs', async () => {
    const d = dashboard();
    for (let i = 0; i < 205; i += 1) {
      const requestId = `q-${String(i).padStart(3, '0')}`;
      const firstFailedAt = new Date(
        Date.parse('2026-02-01T00:00:00.000Z') + (205 - i) * 60_000,
      ).toISOString();
      await d.memory.set(
        COLLECTIONS.queue,
        requestId,
        makeQueueEntry({ requestId, status: 'failed_permanent', firstFailedAt }),
      );
    }
    await d.memory.set(
      COLLECTIONS.queue,
      'closed',
      makeQueueEntry({ requestId: 'closed', status: 'discarded' }),
    );
    for (let i = 0; i < 3; i += 1)
      await seedRun(d.memory, `run-${i}`, '2026-02-27', `2026-02-28T1${i}:00:00.000Z`);
    await seedRun(d.memory, 'other', '2026-02-26', '2026-02-28T09:00:00.000Z');
    const all = await d.state();
    expect(all.queueOpen).toBe(205);
    expect(all.queue).toHaveLength(200);
    expect(all.queue![0]!.requestId).toBe('q-204');
    expect(all.queue!.map((e) => e.requestId)).not.toContain('q-000');
    const partition = await d.state({ partition: '2026-02-27' });
    expect(partition.runs!.map((r) => r.runId)).toEqual(['run-2', 'run-1', 'run-0']);
  });

  it('the page asks for the version only while nothing it shows runs, not at all while hidden, and all on a click', async () => {
    const runs = (status: string) => [
      { runId: 'r', partition: 'p', status, phases: [], triggerSource: 'manual' },
    ];
    const full = (status: string) => ({
      version: 'v1',
      generatedAt: NOW,
      controlDlq: null,
      runs: runs(status),
      queue: [],
      backfills: [],
    });
    const page = runPage(full('SUCCESS'));
    await page.settle();
    expect(page.urls).toEqual(['/api/state']);
    expect(page.updated()).not.toMatch(/error/);
    page.answer({ unchanged: true, version: 'v1', generatedAt: NOW, controlDlq: null });
    await page.poll();
    expect(page.urls.at(-1)).toBe('/api/state?since=v1');
    expect(page.rendered()).toBe(1);
    page.answer(full('RUNNING'));
    page.click();
    await page.settle();
    expect(page.urls.at(-1)).toBe('/api/state');
    expect(page.rendered()).toBe(2);
    expect(page.timelineReads()).toBe(1);
    // Live progress: a run it shows is RUNNING, so every poll reads the whole state.
    await page.poll();
    expect(page.urls.at(-1)).toBe('/api/state');
    page.hide();
    const reads = page.urls.length;
    await page.poll();
    expect(page.urls).toHaveLength(reads);
  });
});

const NOW = '2026-03-01T12:00:00.000Z';

/** The page's script in a context of its own, with just the DOM and fetch it uses. */
function runPage(first: unknown) {
  const asked: string[] = [];
  let body = first;
  let tick: () => void = () => undefined;
  let renders = 0;
  let hidden = false;
  const listeners: Record<string, (ev: unknown) => void> = {};
  const element = (id: string) => ({
    value: '',
    textContent: '',
    dataset: { run: 'r' },
    set innerHTML(_html: string) {
      if (id === '#runs tbody') renders += 1;
    },
    addEventListener: (type: string, fn: (ev: unknown) => void) => void (listeners[`${id}:${type}`] = fn),
    closest: () => element('row'),
  });
  const elements = new Map<string, ReturnType<typeof element>>();
  const get = (id: string) => elements.get(id) ?? elements.set(id, element(id)).get(id)!;
  const context = {
    URLSearchParams,
    document: {
      get hidden() {
        return hidden;
      },
      getElementById: get,
      querySelector: get,
      addEventListener: () => undefined,
    },
    fetch: (url: string) => {
      asked.push(url);
      const answer = url.startsWith('/api/runs/') ? { run: null, events: [] } : body;
      return Promise.resolve({ ok: true, json: () => Promise.resolve(answer) });
    },
    setInterval: (fn: () => void) => void (tick = fn),
    alert: () => undefined,
  };
  // As the page loads them: one <script>, the controls after the page script.
  runInNewContext(
    (BACKFILL_SCRIPT + DASHBOARD_SCRIPT + CONTROLS_SCRIPT).replace('__CAN_ACT__', 'false'),
    context,
  );
  const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
  return {
    /** The state reads it made (the timeline's reads left out). */
    get urls() {
      return asked.filter((url) => url.startsWith('/api/state'));
    },
    timelineReads: () => asked.filter((url) => url.startsWith('/api/runs/')).length,
    settle,
    rendered: () => renders,
    updated: () => get('updated').textContent,
    answer: (next: unknown) => void (body = next),
    poll: async () => {
      tick();
      await settle();
    },
    click: () => listeners['runs:click']!({ target: element('cell') }),
    hide: () => void (hidden = true),
  };
}
