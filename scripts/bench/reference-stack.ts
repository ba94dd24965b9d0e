import { join } from 'node:path';
import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { createFirestore, createFirestoreStore } from '../../shared/adapters/firestore-store.ts';
import { createPubSubPublisher } from '../../shared/adapters/pubsub-publisher.ts';
import type { DocumentStore } from '../../shared/ports/store.ts';
import type { Emulators } from '../lib/emulators.ts';
import { repoRoot } from '../lib/local-pipeline.ts';
import { startStack } from '../lib/stack.ts';
import { FINAL_STATUSES, publishRunAndWait } from '../lib/watch-run.ts';
import type { Dataset } from '../source-api/dataset.ts';
import { startSourceApi } from '../source-api/server.ts';
import type { BenchContext } from './context.ts';

export interface ReferenceStack {
  store: DocumentStore;
  /**
   * Request to SUCCESS for one date, resolving with the run id; anything else is an error (a
   * benchmark of failures is no benchmark).
   */
  runDate(partition: string): Promise<string>;
  stop(): Promise<void>;
}

/** Polled as often as the limit pipeline is, so both pay the same for noticing a date is done. */
const POLL_MS = 50;
const RUN_TIMEOUT_MS = 600_000;

/**
 * The reference pipeline's stack on a source API serving `dataset`, in its own project; `functionEnv`
 * is added to every function's environment (the cost meter's directory, say).
 */
export async function startReferenceStack(
  ctx: BenchContext,
  emulators: Emulators,
  dataset: Dataset,
  label: string,
  options: { functionEnv?: Record<string, string> } = {},
): Promise<ReferenceStack> {
  const source = await startSourceApi({ dataset });
  const projectId = ctx.project(label);
  const stack = await startStack({
    definition: referenceDefinition,
    functionsSource: join(repoRoot, 'functions', 'index.ts'),
    projectId,
    emulators,
    logDir: ctx.logDir,
    functionEnv: () => ({ SOURCE_API_URL: source.url, LOG_LEVEL: 'warn', ...options.functionEnv }),
  });
  const db = createFirestore(projectId, emulators.env.FIRESTORE_EMULATOR_HOST);
  const store = createFirestoreStore(db, {});
  const publisher = createPubSubPublisher(stack.pubsub);
  return {
    store,
    async runDate(partition) {
      const { run } = await publishRunAndWait(
        { store, publisher },
        { partition, triggerSource: 'backfill', requestedBy: 'bench' },
        { timeoutMs: RUN_TIMEOUT_MS, pollMs: POLL_MS },
      );
      if (!run || !FINAL_STATUSES.has(run.status))
        throw new Error(`timed out waiting for run for ${partition}`);
      if (run.status !== 'SUCCESS') throw new Error(`run ${run.runId} for ${partition} ended ${run.status}`);
      return run.runId;
    },
    async stop() {
      await stack.stop();
      await db.terminate();
      await source.close();
    },
  };
}
