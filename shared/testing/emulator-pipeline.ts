import type { RunRequest } from '../messages/messages.ts';
import type { RunDoc } from '../orchestration/run-doc.ts';
import type { DocumentStore } from '../ports/store.ts';

/** A pipeline running on the Pub/Sub and Firestore emulators, as `npm start` runs it. */
export interface EmulatorPipeline {
  /** The project's Firestore (on the emulator). */
  store: DocumentStore;
  /** Publishes a run request for `partition` and waits for the run it started to finish (undefined when none started). */
  run(
    partition: string,
    request?: Omit<Partial<RunRequest>, 'partition'>,
    timeoutMs?: number,
  ): Promise<RunDoc | undefined>;
  /** Stops every process it started: functions, the pipeline's local services, emulators it launched. */
  stop(): Promise<void>;
}

/**
 * Starts a pipeline of the project at `root` (its package.json's `phasegate.pipelines`; the first
 * unless `pipeline` names another) on the emulators: the ones PUBSUB_EMULATOR_HOST and
 * FIRESTORE_EMULATOR_HOST name, else its own. Every function runs from the compiled build in its
 * own process, with the pipeline's local services; no scheduler runs, so a test decides what is published.
 */
export async function startOnEmulators(options: {
  root: string;
  pipeline?: string;
  /** A project of its own per test (the emulators keep projects apart). */
  projectId: string;
}): Promise<EmulatorPipeline> {
  const [{ findProject, loadPipeline }, { startLocalPipeline }] = await Promise.all([
    import('../../scripts/lib/pipeline-module.ts'),
    import('../../scripts/lib/local-pipeline.ts'),
  ]);
  const loaded = await loadPipeline(findProject(options.root), options.pipeline);
  const local = await startLocalPipeline({
    loaded,
    projectId: options.projectId,
    scheduler: false,
    stackFile: false,
  });
  return {
    store: local.store,
    run: (partition, request = {}, timeoutMs) =>
      local.run({ triggerSource: 'manual', ...request, partition }, undefined, timeoutMs),
    stop: () => local.stop(),
  };
}
