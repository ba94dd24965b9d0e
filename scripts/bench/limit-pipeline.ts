import { join } from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import { createFirestore } from '../../shared/adapters/firestore-store.ts';
import { createPubSub } from '../../shared/adapters/pubsub-publisher.ts';
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { provisionLocal } from '../../infra/local/provision.ts';
import type { FunctionPlan, ResourcePlan, SubscriptionPlan } from '../../infra/plan.ts';
import type { Emulators } from '../lib/emulators.ts';
import { functionBuild } from '../lib/function-build.ts';
import { startFunctions, type RunningFunction } from '../lib/functions.ts';
import { repoRoot } from '../lib/local-pipeline.ts';
import { LIMIT_DONE_COLLECTION, LIMIT_ENTRY_POINTS, limitTopic } from './limit-names.ts';
import { waitFor } from './stats.ts';

export interface LimitPipeline {
  /** Publishes a date and waits until its last phase is done. */
  runDate(partition: string): Promise<void>;
  stop(): Promise<void>;
}

/** The no-op pipeline with the definition's topology, on the given emulators, in its own project. */
export async function startLimitPipeline(
  definition: LoadedDefinition,
  emulators: Emulators,
  projectId: string,
  logDir: string,
): Promise<LimitPipeline> {
  const phases = definition.phases.map((p) => p.id);
  const settings = definition.orchestrator.subscription;
  const fn = (name: string, entryPoint: string, topic: string): FunctionPlan => ({
    name,
    entryPoint,
    trigger: { kind: 'pubsub', topics: [topic] },
    timeoutSeconds: 60,
    memoryMb: 256,
  });
  const functions = [
    fn(LIMIT_ENTRY_POINTS.runs, LIMIT_ENTRY_POINTS.runs, limitTopic('run-requests')),
    fn(LIMIT_ENTRY_POINTS.completions, LIMIT_ENTRY_POINTS.completions, limitTopic('completions')),
    ...phases.map((p) => fn(`limit-phase-${p}`, LIMIT_ENTRY_POINTS.phase, limitTopic(`phase-${p}`))),
  ];
  const topics = functions.flatMap((f) => (f.trigger.kind === 'pubsub' ? f.trigger.topics : []));
  const subscriptions = functions.map((f): SubscriptionPlan => ({
    name: `${(f.trigger as { topics: string[] }).topics[0]!}-sub`,
    topic: (f.trigger as { topics: string[] }).topics[0]!,
    pushTo: f.name,
    ackDeadlineSeconds: settings.ackDeadlineSeconds,
    retryPolicy: {
      minBackoffSeconds: settings.minBackoffSeconds,
      maxBackoffSeconds: settings.maxBackoffSeconds,
    },
    deadLetter: null,
  }));
  const plan: ResourcePlan = { topics, functions, subscriptions, schedules: [] };
  const env = {
    ...process.env,
    ...emulators.env,
    GOOGLE_CLOUD_PROJECT: projectId,
    METADATA_SERVER_DETECTION: 'none',
    LIMIT_PHASES: phases.join(','),
    LIMIT_PROCESSORS: String(definition.phases[0]!.processors.length),
  };
  const source = (await functionBuild()).compiled(join(repoRoot, 'scripts', 'bench', 'limit-functions.ts'));
  const running: RunningFunction[] = await startFunctions(
    functions.map((f) => ({
      name: f.name,
      target: f.entryPoint,
      source,
      signatureType: 'http',
      env,
      logDir,
    })),
  );
  const pubsub: PubSub = createPubSub(projectId, emulators.env.PUBSUB_EMULATOR_HOST);
  await provisionLocal(pubsub, plan, projectId, new Map(running.map((r) => [r.name, r.url])));
  const db: Firestore = createFirestore(projectId, emulators.env.FIRESTORE_EMULATOR_HOST);
  const topic = pubsub.topic(limitTopic('run-requests'), {
    batching: { maxMessages: 1, maxMilliseconds: 0 },
  });
  return {
    async runDate(partition) {
      await topic.publishMessage({ json: { partition } });
      await waitFor(
        async () => (await db.collection(LIMIT_DONE_COLLECTION).doc(partition).get()).exists,
        `limit pipeline: ${partition} done`,
      );
    },
    async stop() {
      await Promise.all(running.map((r) => r.process.stop()));
      await pubsub.close();
      await db.terminate();
    },
  };
}
