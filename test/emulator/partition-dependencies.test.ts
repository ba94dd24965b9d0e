import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { TOPICS } from '../../shared/messages/messages.ts';
import type { RunDoc } from '../../shared/orchestration/run-doc.ts';
import { eventually } from '../support/emulator-harness.ts';
import { realDataset } from '../support/real-data.ts';
import { startReferenceHarness, type ReferenceHarness } from '../support/reference-harness.ts';

let h: ReferenceHarness;
beforeAll(async () => {
  h = await startReferenceHarness('dependencies');
});
afterAll(async () => {
  await h?.stop();
});

const FINALS_GAME_7 = '2016-06-19';

describe("partition dependencies, with the reference pipeline's dependencies: 'trigger'", () => {
  it('a Finals date triggered twice on an empty store ends SUCCESS, every earlier date of its playoffs run once', async () => {
    const dataset = realDataset();
    const earlier = dataset.dates.filter(
      (d) => dataset.seasonOf(d) === dataset.seasonOf(FINALS_GAME_7) && d < FINALS_GAME_7,
    );
    expect(earlier.length).toBeGreaterThan(40);
    // Two triggers at the same time: one run of the date, one of each earlier date.
    await Promise.all([
      h.publishJson('run-requests', { partition: FINALS_GAME_7, triggerSource: 'manual' }),
      h.publishJson('run-requests', { partition: FINALS_GAME_7, triggerSource: 'manual' }),
    ]);
    const runsOf = async () =>
      (await h.store.query(COLLECTIONS.runs, {})).map((d) => d.data as unknown as RunDoc);
    let runs: RunDoc[] = [];
    // The schedules' ticks, as Cloud Scheduler sends them (shorter here): a gate that failed on the
    // way (grading restamps a prediction another date's gate counts) is retried by the auto-retry.
    let ticked = Date.now();
    let open: string[] = [];
    await eventually(
      async () => {
        if (Date.now() - ticked > 10_000) {
          ticked = Date.now();
          await Promise.all([
            h.publishJson(TOPICS.autoRetryTicks, {}),
            h.publishJson(TOPICS.reconcileTicks, {}),
          ]);
          const entries = (await h.store.query(COLLECTIONS.queue, {}))
            .map((e) => e.data)
            .filter((e) => !['succeeded', 'discarded', 'superseded'].includes(String(e.status)));
          const deps = (await h.store.query(COLLECTIONS.dependencies, {}))
            .map((d) => d.data)
            .filter((d) => d.status !== 'done');
          open = [
            ...entries.map(
              (e) =>
                `${String(e.requestId)} ${String(e.status)} next ${String(e.nextRetryAt)}: ${String(e.lastError).slice(0, 120)}`,
            ),
            ...deps.map(
              (d) =>
                `dependency ${String(d.partition)} ${String(d.status)} ${typeof d.reason === 'string' ? d.reason : ''}`,
            ),
          ];
        }
        return (runs = await runsOf()).some((r) => r.partition === FINALS_GAME_7 && r.status === 'SUCCESS');
      },
      {
        timeoutMs: 230_000,
        what: () =>
          `${FINALS_GAME_7} to succeed (${runs.filter((r) => r.status === 'SUCCESS').length} of ${earlier.length + 1} dates done; ` +
          `not done: ${runs
            .filter((r) => r.status !== 'SUCCESS')
            .map((r) => `${r.partition} ${r.status}`)
            .join(', ')}; open:\n${open.join('\n')})`,
      },
    );
    const byPartition = new Map<string, string[]>();
    for (const r of runs) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r.status]);
    expect(byPartition.get(FINALS_GAME_7)).toEqual(['SUCCESS']);
    for (const d of earlier) expect(byPartition.get(d), d).toEqual(['SUCCESS']);
    expect([...byPartition.keys()].sort()).toEqual([...earlier, FINALS_GAME_7]);
    // What the waiting said while it waited: the earlier partitions, not "waiting for source".
    const waits = (
      await h.store.query(COLLECTIONS.events, {
        filters: [
          { field: 'type', op: '==', value: 'processor_failed' },
          { field: 'partition', op: '==', value: FINALS_GAME_7 },
        ],
      })
    ).map((e) => String(e.data.message));
    expect(waits).toContainEqual(
      expect.stringMatching(
        new RegExp(
          String.raw`^waiting for earlier partitions: 2016-06-02 … 2016-06-16 \(6\): series 004150040 ` +
            String.raw`needs game\(s\) 1, 2, 3, 4, 5, 6 processed before game 7 on 2016-06-19`,
        ),
      ),
    );
    const left = (await h.store.query(COLLECTIONS.queue, {}))
      .map((e) => e.data)
      .filter((e) => !['succeeded', 'discarded', 'superseded'].includes(String(e.status)));
    expect(left).toEqual([]);
    const dependencies = (await h.store.query(COLLECTIONS.dependencies, {})).map((d) => d.data.status);
    expect(dependencies.every((s) => s === 'done')).toBe(true);
  });
});
