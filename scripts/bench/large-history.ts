// Benchmark 8: a reconcile tick and the dashboard's state read over a large history, beside the same
// over none, each store a project of its own on the Firestore emulator, the operations called in process.
import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { declaredIndexes } from '../../shared/adapters/declared-indexes.ts';
import { createFirestore, createFirestoreStore } from '../../shared/adapters/firestore-store.ts';
import { createPubSub, createPubSubPublisher } from '../../shared/adapters/pubsub-publisher.ts';
import { createLogger } from '../../shared/lib/logger.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import { createIndexGuard } from '../../shared/store/indexes.ts';
import type { Emulators } from '../lib/emulators.ts';
import type { BenchContext } from './context.ts';
import { compareHistories, type OpenStore } from './history-compare.ts';
import type { Result } from './report.ts';

export async function largeHistory(ctx: BenchContext, emulators: Emulators): Promise<Result> {
  const size = ctx.quick ? { runs: 2_000, closedEntries: 1_000 } : { runs: 100_000, closedEntries: 50_000 };
  ctx.say(
    `8. reconcile tick and dashboard state beside ${size.runs} old runs and ${size.closedEntries} closed ` +
      'queue entries, vs no history',
  );
  // The declared indexes guard every query, as production's Firestore would refuse one without its index.
  // Nothing is published (the history holds no pending work): a publish would fail, there are no topics.
  const open: OpenStore = (label) => {
    const projectId = ctx.project(label);
    const db = createFirestore(projectId, emulators.env.FIRESTORE_EMULATOR_HOST);
    const pubsub = createPubSub(projectId, emulators.env.PUBSUB_EMULATOR_HOST);
    return Promise.resolve({
      store: createFirestoreStore(db, { indexGuard: createIndexGuard(declaredIndexes()) }),
      publisher: createPubSubPublisher(pubsub),
      close: async () => {
        await pubsub.close();
        await db.terminate();
        // A million documents are given back: the benchmarks after this one share the emulator.
        const wiped = await fetch(
          `http://${emulators.env.FIRESTORE_EMULATOR_HOST}/emulator/v1/projects/${projectId}/databases/(default)/documents`,
          { method: 'DELETE' },
        );
        if (!wiped.ok) throw new Error(`could not wipe ${projectId} on the emulator: HTTP ${wiped.status}`);
      },
    });
  };
  return compareHistories(open, {
    definition: referenceDefinition,
    clock: systemClock,
    logger: createLogger({ name: 'bench', level: 'warn' }),
    size,
    recentRuns: 60,
    // A tick over the large history takes seconds on the emulator (it scans): fewer rounds at full size.
    rounds: ctx.quick ? 5 : 7,
    concurrency: 8,
    say: ctx.say,
  });
}
