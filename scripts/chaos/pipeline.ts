import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { createFirestore, createFirestoreStore } from '../../shared/adapters/firestore-store.ts';
import { createPubSubPublisher } from '../../shared/adapters/pubsub-publisher.ts';
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import type { Publisher } from '../../shared/ports/publisher.ts';
import type { DocumentStore } from '../../shared/ports/store.ts';
import type { Emulators } from '../lib/emulators.ts';
import { repoRoot } from '../lib/local-pipeline.ts';
import { startStack, type Stack } from '../lib/stack.ts';
import { publishRunAndWait } from '../lib/watch-run.ts';
import type { Dataset } from '../source-api/dataset.ts';
import type { FaultRuleInput } from '../source-api/faults.ts';
import { startSourceApi } from '../source-api/server.ts';
import type { ChaosContext } from './context.ts';
import { RUN_POLL_MS, RUN_TIMEOUT_MS, SOURCE_CLIENT_TIMEOUT_MS } from './definition.ts';

/** The reference pipeline's stack on its own source API, in a project of its own. */
export interface Pipeline {
  stack: Stack;
  store: DocumentStore;
  publisher: Publisher;
  db: Firestore;
  source: Awaited<ReturnType<typeof startSourceApi>>;
  stop(): Promise<void>;
}

/** What both runs of a soak share: the emulators, the data, the source API's port and the dates. */
export interface SoakSetup {
  emulators: Emulators;
  dataset: Dataset;
  /** One port for both runs: the source's URL is part of what the scrapers store. */
  sourcePort: number;
  /** The reference definition (the chaos run's stack runs a copy with shorter deadlines). */
  definition: LoadedDefinition;
  dates: readonly string[];
}

export async function startPipeline(
  ctx: ChaosContext,
  setup: Pick<SoakSetup, 'emulators' | 'dataset' | 'sourcePort'> & {
    label: string;
    /** The definition the stack runs. */
    definition: LoadedDefinition;
    functionEnv: (name: string) => Record<string, string>;
    sourceFaults: FaultRuleInput[];
  },
): Promise<Pipeline> {
  const { emulators } = setup;
  const source = await startSourceApi({
    dataset: setup.dataset,
    faults: setup.sourceFaults,
    port: setup.sourcePort,
  });
  const projectId = `chaos-${setup.label}-${randomUUID().slice(0, 6)}`;
  const stack = await startStack({
    definition: setup.definition,
    functionsSource: join(repoRoot, 'functions', 'index.ts'),
    projectId,
    emulators,
    logDir: ctx.logDir,
    functionEnv: (name) => ({
      SOURCE_API_URL: source.url,
      LOG_LEVEL: 'warn',
      PHASEGATE_HTTP_TIMEOUT_MS: String(SOURCE_CLIENT_TIMEOUT_MS),
      ...setup.functionEnv(name),
    }),
  });
  const db = createFirestore(projectId, emulators.env.FIRESTORE_EMULATOR_HOST);
  const store = createFirestoreStore(db, {});
  return {
    stack,
    store,
    publisher: createPubSubPublisher(stack.pubsub),
    db,
    source,
    async stop() {
      await stack.stop();
      await db.terminate();
      await source.close();
    },
  };
}

export interface Forced {
  gameDate: string;
  oldRunId: string;
  newRunId: string | null;
}

/**
 * Publishes each date's run request in order and waits for the run to be final. For `forceDate`,
 * a forced second run is published while the first is RUNNING: the first must end SUPERSEDED.
 */
export async function runDates(
  ctx: ChaosContext,
  p: Pipeline,
  dates: readonly string[],
  forceDate?: string,
): Promise<{ statuses: Map<string, string>; forced: Forced | null }> {
  const statuses = new Map<string, string>();
  let forced: Forced | null = null;
  const wait = { timeoutMs: RUN_TIMEOUT_MS, pollMs: RUN_POLL_MS };
  for (const gameDate of dates) {
    const forcing = gameDate === forceDate;
    let { run } = await publishRunAndWait(
      p,
      { partition: gameDate, triggerSource: 'backfill', requestedBy: 'chaos' },
      // The date to force waits only for its first run to exist.
      forcing ? { ...wait, until: () => true } : wait,
    );
    if (forcing && run) {
      const { run: next } = await publishRunAndWait(
        p,
        {
          partition: gameDate,
          triggerSource: 'manual',
          force: true,
          requestedBy: 'chaos: forced second run',
        },
        wait,
      );
      forced = { gameDate, oldRunId: run.runId, newRunId: next?.runId ?? null };
      ctx.say(`  ${gameDate}  forced a second run mid-run: ${run.runId} -> ${next?.runId ?? 'none'}`);
      run = next;
    }
    const status = run?.status ?? 'NO_RUN';
    statuses.set(gameDate, status);
    ctx.say(`  ${gameDate}  ${status}`);
  }
  return { statuses, forced };
}
