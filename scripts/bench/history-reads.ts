// What a reconcile tick, a dashboard read, an unchanged dashboard poll and health read of a store, in
// documents as Firestore bills them, and how long each takes.
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { createDashboard } from '../../shared/operations/dashboard/handler.ts';
import { loadDashboardAuth } from '../../shared/operations/dashboard/auth.ts';
import { healthSummary } from '../../shared/operations/health.ts';
import { reconcile } from '../../shared/operations/reconciler.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import type { Logger } from '../../shared/ports/logger.ts';
import type { Publisher } from '../../shared/ports/publisher.ts';
import type { DocumentStore, Transaction } from '../../shared/ports/store.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { timed } from './stats.ts';

/**
 * The store, counting reads as Firestore bills them: a document fetched or returned by a query is one
 * read, a query that returns nothing is one, a count aggregation is one per 1,000 entries it matched.
 */
export function countReads(store: DocumentStore): { store: DocumentStore; reads: () => number } {
  let reads = 0;
  // Only the reading methods are replaced; every other one (the writes) is the store's own.
  const counted: Pick<DocumentStore, 'get' | 'getMany' | 'countWhere' | 'query' | 'transaction'> = {
    get: async (collection, id) => {
      reads += 1;
      return store.get(collection, id);
    },
    getMany: async (collection, ids) => {
      reads += ids.length;
      return store.getMany(collection, ids);
    },
    countWhere: async (collection, filters) => {
      const count = await store.countWhere(collection, filters);
      reads += Math.max(1, Math.ceil(count / 1000));
      return count;
    },
    query: async (collection, options) => {
      const docs = await store.query(collection, options);
      reads += Math.max(1, docs.length);
      return docs;
    },
    transaction: (fn) =>
      store.transaction((tx) =>
        fn(
          Object.assign(Object.create(tx) as Transaction, {
            get: async (collection: string, id: string) => {
              reads += 1;
              return tx.get(collection, id);
            },
          }),
        ),
      ),
  };
  return { store: Object.assign(Object.create(store) as DocumentStore, counted), reads: () => reads };
}

export interface Measured {
  ms: number;
  reads: number;
}

/**
 * What benchmark 8 measures: the reconcile tick and the dashboard's state read (its headline), an
 * unchanged poll, health, and one query that returns one document (the newest run): what a single read
 * costs the store as it grows.
 */
export const OPERATIONS = ['tick', 'dashboard', 'poll', 'health', 'oneQuery'] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface OperationDeps {
  definition: LoadedDefinition;
  publisher: Publisher;
  clock: Clock;
  logger: Logger;
}

/**
 * Each operation once on `store`: the reconcile tick's work (`reconcile`, in process), the dashboard's
 * `/api/state` through its handler (the version, then the state), the same with the version the page
 * has (an unchanged poll), `phasegate health`'s summary of the last day, and the one-document query.
 */
export async function measureOperations(
  store: DocumentStore,
  deps: OperationDeps,
): Promise<Record<Operation, Measured>> {
  const { store: counted, reads } = countReads(store);
  const dashboard = createDashboard({
    ...deps,
    store: counted,
    auth: loadDashboardAuth({ DASHBOARD_AUTH: 'off' }),
  });
  const getState = async (query: Record<string, string>) => {
    const response = await dashboard({
      method: 'GET',
      path: '/api/state',
      query,
      headers: {},
      body: undefined,
    });
    if (response.status !== 200) throw new Error(`dashboard answered ${response.status}: ${response.body}`);
    return JSON.parse(response.body) as { version: string; unchanged?: boolean };
  };
  const run = async <T>(operation: () => Promise<T>): Promise<Measured & { value: T }> => {
    const before = reads();
    const { ms, value } = await timed(operation);
    return { ms, reads: reads() - before, value };
  };
  const tick = await run(() => reconcile({ ...deps, store: counted }));
  const full = await run(() => getState({}));
  const poll = await run(async () => {
    if (!(await getState({ since: full.value.version })).unchanged)
      throw new Error('the store changed between two dashboard reads: nothing else may write while measured');
  });
  const health = await run(() => healthSummary(counted, { now: deps.clock.now(), days: 1 }));
  const oneQuery = await run(() =>
    counted.query(COLLECTIONS.runs, { orderBy: { field: 'updatedAt', direction: 'desc' }, limit: 1 }),
  );
  const measured = (m: Measured) => ({ ms: m.ms, reads: m.reads });
  return {
    tick: measured(tick),
    dashboard: measured(full),
    poll: measured(poll),
    health: measured(health),
    oneQuery: measured(oneQuery),
  };
}
