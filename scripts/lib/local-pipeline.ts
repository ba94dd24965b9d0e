import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFirestore, createFirestoreStore } from '../../shared/adapters/firestore-store.ts';
import type { DocumentStore } from '../../shared/ports/store.ts';
import { TOPICS, type RunRequest } from '../../shared/messages/messages.ts';
import type { RunDoc } from '../../shared/orchestration/run-doc.ts';
import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { loadCsvDataset } from '../source-api/dataset.ts';
import { loadSourceApiConfig } from '../source-api/config.ts';
import { syntheticDataset } from '../source-api/synthetic.ts';
import { startSourceApi, type SourceApi } from '../source-api/server.ts';
import { defaultPorts, startEmulators, type Emulators } from './emulators.ts';
import { preferredOrFreePort } from './ports.ts';
import { startStack, type Stack } from './stack.ts';
import { findRunByMessage, watchRun } from './watch-run.ts';
import { localJobs, startLocalScheduler } from './local-scheduler.ts';
import { removeStackFile, writeStackFile } from './connection.ts';
import { createPubSubPublisher } from '../../shared/adapters/pubsub-publisher.ts';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface LocalPipeline {
  emulators: Emulators;
  source: SourceApi;
  stack: Stack;
  store: DocumentStore;
  logDir: string;
  /** Publishes a RunRequest and waits for the run it started to reach a final status. */
  run(request: RunRequest, onChange?: (run: RunDoc, lines: string[]) => void, timeoutMs?: number): Promise<RunDoc | undefined>;
  stop(): Promise<void>;
}

/**
 * The reference pipeline on this machine: emulators, source API and every function. A start
 * that fails, or is aborted through `signal` (Ctrl-C while it starts), stops whatever it had
 * started before it rejects.
 */
export async function startLocalPipeline(options: {
  projectId: string;
  echo?: (name: string, line: string) => void;
  sourcePort?: number;
  scheduler?: boolean;
  signal?: AbortSignal;
  /** Production's request path: the local Cloud Run IAM front end (see iam-front-end.ts). */
  iam?: boolean;
}): Promise<LocalPipeline> {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const logDir = join(repoRoot, '.phasegate', 'logs');
  const checkAborted = () => options.signal?.throwIfAborted();
  checkAborted();
  const emulators = await startEmulators({ logDir, preferredPorts: defaultPorts(join(repoRoot, 'firebase.json')) });
  let source: SourceApi | undefined;
  let stack: Stack | undefined;
  try {
    checkAborted();
    const sourceConfig = loadSourceApiConfig(process.env);
    const dataset =
      sourceConfig.syntheticSeed === undefined
        ? loadCsvDataset()
        : syntheticDataset({ seed: sourceConfig.syntheticSeed, headers: loadCsvDataset().headers });
    source = await startSourceApi({ dataset, faults: sourceConfig.faults, port: await preferredOrFreePort(options.sourcePort ?? 8090) });
    const sourceUrl = source.url;
    checkAborted();
    stack = await startStack({
      definition: referenceDefinition,
      functionsSource: join(repoRoot, 'functions', 'index.ts'),
      projectId: options.projectId,
      emulators,
      logDir,
      functionEnv: () => ({ SOURCE_API_URL: sourceUrl }),
      echo: options.echo,
      iam: options.iam,
    });
    checkAborted();
    const live = stack;
    process.env.FIRESTORE_EMULATOR_HOST = emulators.firestore.host;
    const db = createFirestore(options.projectId);
    const store = createFirestoreStore(db);
    const running = source;
    const scheduler =
      options.scheduler === false
        ? undefined
        : startLocalScheduler(localJobs(referenceDefinition), createPubSubPublisher(live.pubsub), (job, error) =>
            options.echo?.('scheduler', `${job}: publish failed: ${String(error)}`),
          );
    writeStackFile(repoRoot, { projectId: options.projectId, ...emulators.env, sourceApiUrl: running.url, pid: process.pid });
    return {
      emulators,
      source: running,
      stack: live,
      store,
      logDir,
      async run(request, onChange, timeoutMs = 300_000) {
        const messageId = await live.pubsub.topic(TOPICS.runRequests).publishMessage({ json: request });
        const started = await findRunByMessage(store, messageId);
        if (!started) return undefined;
        return watchRun(store, started.runId, { timeoutMs, onChange: onChange ?? (() => undefined) });
      },
      async stop() {
        scheduler?.stop();
        removeStackFile(repoRoot);
        await live.stop().catch(() => undefined);
        await db.terminate().catch(() => undefined);
        await running.close().catch(() => undefined);
        await emulators.stop().catch(() => undefined);
      },
    };
  } catch (error) {
    // Each step is stopped even if an earlier one fails to stop: the emulators above all.
    await stack?.stop().catch(() => undefined);
    await source?.close().catch(() => undefined);
    await emulators.stop();
    throw error;
  }
}
