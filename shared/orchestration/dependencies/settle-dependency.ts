import { COLLECTIONS } from '../../runtime/collections.ts';
import { parseDependency, type DependencyDeps, type DependencyDoc } from './dependency-doc.ts';

/** Moves a dependency on, unless another pump changed it since this one read it. */
export async function settleDependency(
  deps: DependencyDeps,
  partition: string,
  seen: Pick<DependencyDoc, 'status' | 'starts'>,
  to: Pick<DependencyDoc, 'status' | 'runId' | 'outcome' | 'reason'>,
): Promise<boolean> {
  const at = deps.clock.now().toISOString();
  return deps.store.transaction(async (tx) => {
    const doc = parseDependency(partition, await tx.get(COLLECTIONS.dependencies, partition));
    // Unchanged since this pump read it: another pump that re-started it meanwhile wins.
    if (doc?.status !== seen.status || doc.starts !== seen.starts) return false;
    tx.set(COLLECTIONS.dependencies, partition, { ...doc, ...to, updatedAt: at });
    return true;
  });
}

/** Queued → started in a transaction: two pumps at once start a partition once. */
export async function claimStart(deps: DependencyDeps, partition: string): Promise<boolean> {
  const at = deps.clock.now().toISOString();
  return deps.store.transaction(async (tx) => {
    const doc = parseDependency(partition, await tx.get(COLLECTIONS.dependencies, partition));
    if (doc?.status !== 'queued') return false;
    tx.set(COLLECTIONS.dependencies, partition, {
      ...doc,
      status: 'started',
      startedAt: at,
      starts: doc.starts + 1,
      updatedAt: at,
    });
    return true;
  });
}
