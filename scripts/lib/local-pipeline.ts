import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DocumentStore } from '../../shared/ports/store.ts';
import type { RunRequest } from '../../shared/messages/messages.ts';
import type { RunDoc } from '../../shared/orchestration/run-doc.ts';
import type { LocalServices } from '../../shared/pipeline-module.ts';
import type { LoadedPipeline } from './pipeline-module.ts';
import { defaultPorts, launchEmulators, type Emulators } from './emulators.ts';
import { compiledEntry } from './function-build.ts';
import type { Stack } from './stack.ts';
import { publishRunAndWait } from './watch-run.ts';
import { localJobs, startLocalScheduler } from './local-scheduler.ts';
import { ORCHESTRATOR_ENTRY_POINTS, phaseEntryPoint } from '../../shared/entry-points.ts';

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
  /**
   * The functions every run passes through (the orchestrator's two, one per phase) warm as soon as
   * they serve (stack.ts), as `npm start` has them: its first run then waits for no cold start.
   */
  warmStart?: boolean;
}): Promise<LocalPipeline> {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const { loaded } = options;
  const { definition } = loaded.pipeline;
  const root = loaded.root;
  const logDir = join(root, '.phasegate', 'logs');
  const checkAborted = () => options.signal?.throwIfAborted();
  const runPath = new Set<string>([
    ...Object.values(ORCHESTRATOR_ENTRY_POINTS),
    ...definition.phases.map((phase) => phaseEntryPoint(phase.id)),
  ]);
  checkAborted();
  const firebaseJson = join(root, 'firebase.json');
  // The JVMs start while the rest does: the functions need only the emulators' addresses.
  const starting = await launchEmulators({
    logDir,
    preferredPorts: defaultPorts(existsSync(firebaseJson) ? firebaseJson : join(repoRoot, 'firebase.json')),
  });
  // The functions' build (esbuild, its own process) runs while this process loads the SDKs.
  const compiled = compiledEntry(loaded.entry, loaded.root);
  compiled.catch(() => undefined);
  let services: LocalServices | undefined;
  let stack: Stack | undefined;
  try {
    // The cloud SDKs, most of this process's own start, load while the JVMs start: imported
    // here, not at the top.
    const [{ startStack }, { createFirestore, createFirestoreStore }, { createPubSubPublisher }, stackFile] =
      await Promise.all([
        import('./stack.ts'),
        import('../../shared/adapters/firestore-store.ts'),
        import('../../shared/adapters/pubsub-publisher.ts'),
        import('./connection.ts'),
      ]);
    checkAborted();
    services = await loaded.local?.services?.({ logDir });
    const serviceEnv = { ...services?.env };
    checkAborted();
    stack = await startStack({
      definition,
      functionsSource: loaded.entry,
      projectRoot: loaded.root,
      compiled,
      projectId: options.projectId,
      emulators: starting,
      logDir,
      functionEnv: () => serviceEnv,
      echo: options.echo,
      iam: options.iam,
      warm: options.warmStart ? (name) => runPath.has(name) : undefined,
    });
    const emulators = await starting.ready;
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
      stackFile.writeStackFile(root, {
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
        if (options.stackFile !== false) stackFile.removeStackFile(root);
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
    await starting.stop();
    throw error;
  }
}
