import { type QueueEntry, readEntryOrPassOver } from '../../recovery/queue-entry.ts';
import { COLLECTIONS } from '../../runtime/collections.ts';
import { parseDependency, currentRuns, type DependencyDeps } from './dependency-doc.ts';

/**
 * Entries whose earlier partitions have all succeeded are made due now (the auto-retry tick the
 * pump publishes re-runs them). One that waits for a partition that failed stays waiting, saying so.
 */
export async function resumeWaiters(deps: DependencyDeps, entries: QueueEntry[]): Promise<string[]> {
  const resumed: string[] = [];
  const { scheme } = deps.definition;
  // Keys of the scheme only: one bad key must not break every pump (it would name no document).
  const keysOf = (entry: QueueEntry) =>
    (entry.waitingForPartitions ?? []).filter((p) => scheme.problem(p) === null);
  const needed = [...new Set(entries.flatMap(keysOf))];
  const runs = await currentRuns(deps.store, needed);
  const docs = needed.length ? await deps.store.getMany(COLLECTIONS.dependencies, needed) : [];
  const failedWhy = new Map(
    needed.map((p, i) => [
      p,
      parseDependency(p, docs[i])?.status === 'failed'
        ? (parseDependency(p, docs[i])?.reason ?? 'failed')
        : null,
    ]),
  );
  const check = (partition: string) => ({
    ok: runs.get(partition)?.status === 'SUCCESS',
    why: failedWhy.get(partition) ?? null,
  });
  const now = deps.clock.now().toISOString();
  for (const entry of entries) {
    const keys = keysOf(entry);
    if (keys.length === 0) continue;
    const states = keys.map(check);
    // Resumed once per state of what it waits for: a processor that waits again although those
    // runs succeeded (its own check wants more) goes back to its source-check cadence, not a loop.
    const resumeKey = keys.map((p) => runs.get(p)?.runId ?? '-').join(',');
    const failed = states.map((s) => s.why).filter((w): w is string => w !== null);
    const ready = states.every((s) => s.ok);
    if (!ready && failed.length === 0) continue;
    const changed = await deps.store.transaction(async (tx) => {
      const current = await readEntryOrPassOver(tx, entry.requestId);
      if (current?.status !== 'waiting' || current.errorReason !== 'earlier_partitions_missing') return false;
      if (ready) {
        if (current.dependencyResumeKey === resumeKey) return false;
        tx.set(
          COLLECTIONS.queue,
          entry.requestId,
          {
            dependencyResumeKey: resumeKey,
            nextRetryAt: now,
            updatedAt: now,
            lastError: `${current.lastError.replace(/ \[an earlier partition failed: .*\]$/, '')}`,
          },
          { merge: true },
        );
        return true;
      }
      const note = ` [an earlier partition failed: ${failed[0]}]`;
      if (current.lastError.endsWith(note)) return false;
      tx.set(
        COLLECTIONS.queue,
        entry.requestId,
        {
          lastError: `${current.lastError.replace(/ \[an earlier partition failed: .*\]$/, '')}${note}`,
          updatedAt: now,
        },
        { merge: true },
      );
      return false;
    });
    if (changed) resumed.push(entry.requestId);
  }
  return resumed;
}
