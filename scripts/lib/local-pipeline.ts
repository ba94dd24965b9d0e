import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFirestore, createFirestoreStore } from '../../shared/adapters/firestore-store.ts';
import type { DocumentStore } from '../../shared/ports/store.ts';
import type { RunRequest } from '../../shared/messages/messages.ts';
import type { RunDoc } from '../../shared/orchestration/run-doc.ts';
import type { LocalServices } from '../../shared/pipeline-module.ts';
import type { LoadedPipeline } from './pipeline-module.ts';
import { defaultPorts, startEmulators, type Emulators } from './emulators.ts';
import { startStack, type Stack } from './stack.ts';
import { publishRunAndWait } from './watch-run.ts';
import { localJobs, startLocalScheduler } from './local-scheduler.ts';
import { removeStackFile, writeStackFile } from './connection.ts';
import { createPubSubPublisher } from '../../shared/adapters/pubsub-publisher.ts';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface LocalPipeline {
  loaded: LoadedPipeline;
  emulators: Emulators;
  /** What the pipeline's local module started besides the emulators (none when it has none). */
  services: LocalServices | undefined;
  stack: Stack;
  store: DocumentStore;
  logDir: string;
  /** Publishes a RunRequest and waits for the run it started to reach a final status. */
  run(
    request: RunRequest,
    onChange?: (run: RunDoc, lines: string[]) => void,
    timeoutMs?: number,
  ): Promise<RunDoc | undefined>;
  stop(): Promise<void>;
}

/**
 * A pipeline on this machine: emulators, its local services (the reference pipeline's source
 * API) and every function. A start that fails, or is aborted through `signal` (Ctrl-C while it
 * starts), stops whatever it had started before it rejects. State and logs are in the project's `.phasegate/`.
 */
export async function startLocalPipeline(options: {
  loaded: LoadedPipeline;
  projectId: string;
  echo?: (name: string, line: string) => void;
  scheduler?: boolean;
  /** Leave `.phasegate/stack.json` for the command line (default); a test's stack leaves none. */
  stackFile?: boolean;
  signal?: AbortSignal;
  /** Production's request path: the local Cloud Run IAM front end (see iam-front-end.ts). */
  iam?: boolean;
}): Promise<LocalPipeline> {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const { loaded } = options;
  const { definition } = loaded.pipeline;
  const root = loaded.root;
  const logDir = join(root, '.phasegate', 'logs');
  const checkAborted = () => options.signal?.throwIfAborted();
  checkAborted();
  const firebaseJson = join(root, 'firebase.json');
  const emulators = await startEmulators({
    logDir,
    preferredPorts: defaultPorts(existsSync(firebaseJson) ? firebaseJson : join(repoRoot, 'firebase.json')),
  });
  let services: LocalServices | undefined;
  let stack: Stack | undefined;
  try {
    checkAborted();
    services = await loaded.local?.services?.({ logDir });
    const serviceEnv = { ...services?.env };
    checkAborted();
    stack = await startStack({
      definition,
      functionsSource: loaded.entry,
      projectRoot: loaded.root,
      projectId: options.projectId,
      emulators,
      logDir,
      functionEnv: () => serviceEnv,
      echo: options.echo,
      iam: options.iam,
    });
    checkAborted();
    const live = stack;
    process.env.FIRESTORE_EMULATOR_HOST = emulators.firestore.host;
    const db = createFirestore(options.projectId);
    const store = createFirestoreStore(db);
    const running = services;
    const scheduler =
      options.scheduler === false
        ? undefined
        : startLocalScheduler(localJobs(definition), createPubSubPublisher(live.pubsub), (job, error) =>
            options.echo?.('scheduler', `${job}: publish failed: ${String(error)}`),
          );
    if (options.stackFile !== false)
      writeStackFile(root, {
        projectId: options.projectId,
        ...emulators.env,
        pipeline: loaded.name,
        env: serviceEnv,
        pid: process.pid,
      });
    return {
      loaded,
      emulators,
      services: running,
      stack: live,
      store,
      logDir,
      async run(request, onChange, timeoutMs = 300_000) {
        const publisher = createPubSubPublisher(live.pubsub);
        // Up to 2 minutes for the run to appear (cold functions), then `timeoutMs` for it to finish.
        const { run } = await publishRunAndWait({ store, publisher }, request, {
          timeoutMs: timeoutMs + 120_000,
          findTimeoutMs: 120_000,
          onChange: onChange ?? (() => undefined),
        });
        return run;
      },
      async stop() {
        scheduler?.stop();
        if (options.stackFile !== false) removeStackFile(root);
        await live.stop().catch(() => undefined);
        await db.terminate().catch(() => undefined);
        await running?.stop().catch(() => undefined);
        await emulators.stop().catch(() => undefined);
      },
    };
  } catch (error) {
    // Each step is stopped even if an earlier one fails to stop: the emulators above all.
    await stack?.stop().catch(() => undefined);
    await services?.stop().catch(() => undefined);
    await emulators.stop();
    throw error;
  }
}
