// Benchmark 3: one processor behind the phase runtime, beside the same processor in a bare
// functions-framework handler, both pushed to by the same emulator.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { PubSub } from '@google-cloud/pubsub';
import { createFirestore, createFirestoreStore } from '../../shared/adapters/firestore-store.ts';
import { createPubSub } from '../../shared/adapters/pubsub-publisher.ts';
import { newTraceparent } from '../../shared/messages/fields.ts';
import { makeRequestId, TOPICS, type ProcessorRequest } from '../../shared/messages/messages.ts';
import type { DocumentStore } from '../../shared/ports/store.ts';
import { provisionLocal } from '../../infra/local/provision.ts';
import { subscriptionName, type ResourcePlan } from '../../infra/plan.ts';
import type { Emulators } from '../lib/emulators.ts';
import { functionBuild } from '../lib/function-build.ts';
import { startFunctions } from '../lib/functions.ts';
import { repoRoot } from '../lib/local-pipeline.ts';
import type { BenchContext } from './context.ts';
import { OVERHEAD } from './overhead-names.ts';
import type { Result } from './report.ts';
import { percentile, ratio, timed, waitFor } from './stats.ts';

/** A burst through the runtime at most this many times slower than through a bare handler (issue 17). */
const THROUGHPUT_TARGET = 2;

function processorRequest(partition: string): ProcessorRequest {
  const runId = `bench-${randomUUID().slice(0, 12)}`;
  return {
    runId,
    requestId: makeRequestId({ runId, phase: OVERHEAD.phase, processor: OVERHEAD.processor }),
    phase: OVERHEAD.phase,
    processor: OVERHEAD.processor,
    partition,
    triggerSource: 'manual',
    parentEventId: null,
    traceparent: newTraceparent(),
  };
}

interface OverheadFunctions {
  pubsub: PubSub;
  store: DocumentStore;
  stop(): Promise<void>;
}

/** Both functions in their own project, each behind a push subscription on a topic of its name. */
async function startOverheadFunctions(ctx: BenchContext, emulators: Emulators): Promise<OverheadFunctions> {
  const projectId = ctx.project('overhead');
  // Auth off, said out loud: the functions run as on Cloud Run (K_SERVICE set), where an unset
  // mode refuses to start.
  const env = {
    ...process.env,
    ...emulators.env,
    GOOGLE_CLOUD_PROJECT: projectId,
    METADATA_SERVER_DETECTION: 'none',
    LOG_LEVEL: 'warn',
    PHASEGATE_AUTH: 'off',
  };
  const source = (await functionBuild()).compiled(
    join(repoRoot, 'scripts', 'bench', 'overhead-functions.ts'),
  );
  const names = [OVERHEAD.functions.runtime, OVERHEAD.functions.bare];
  const fns = await startFunctions(
    names.map((name) => ({
      name,
      target: name,
      source,
      signatureType: 'http' as const,
      env,
      logDir: ctx.logDir,
    })),
  );
  const plan: ResourcePlan = {
    topics: [...names, TOPICS.processorCompletions],
    functions: [],
    subscriptions: names.map((name) => ({
      name: subscriptionName(name),
      topic: name,
      pushTo: name,
      ackDeadlineSeconds: 120,
      retryPolicy: { minBackoffSeconds: 1, maxBackoffSeconds: 10 },
      deadLetter: null,
    })),
    schedules: [],
  };
  const pubsub = createPubSub(projectId, emulators.env.PUBSUB_EMULATOR_HOST);
  await provisionLocal(pubsub, plan, projectId, new Map(fns.map((f) => [f.name, f.url])));
  const db = createFirestore(projectId, emulators.env.FIRESTORE_EMULATOR_HOST);
  return {
    pubsub,
    store: createFirestoreStore(db, {}),
    async stop() {
      await Promise.all(fns.map((f) => f.process.stop()));
      await pubsub.close();
      await db.terminate();
    },
  };
}

export async function runtimeOverhead(ctx: BenchContext, emulators: Emulators): Promise<Result> {
  const overhead = await startOverheadFunctions(ctx, emulators);
  const { pubsub, store } = overhead;
  const publish = (topic: string, request: ProcessorRequest) =>
    pubsub
      .topic(topic, { batching: { maxMessages: 1, maxMilliseconds: 0 } })
      .publishMessage({ json: request });
  const written = async (request: ProcessorRequest) =>
    (await store.get(OVERHEAD.collection, `${request.requestId}-${OVERHEAD.docsPerMessage - 1}`)) !==
    undefined;
  /** One message, publish to its last document written. */
  const one = async (topic: string) => {
    const request = processorRequest('2031-01-01');
    return (
      await timed(async () => {
        await publish(topic, request);
        await waitFor(() => written(request), `${topic} ${request.requestId}`, 60_000, 10);
      })
    ).ms;
  };
  /** `n` messages at once, publish to every document written. */
  const burst = async (topic: string, partition: string, n: number) =>
    (
      await timed(async () => {
        await Promise.all(Array.from({ length: n }, () => publish(topic, processorRequest(partition))));
        await waitFor(
          async () =>
            (await store.countWhere(OVERHEAD.collection, [
              { field: 'partition', op: '==', value: partition },
            ])) >=
            n * OVERHEAD.docsPerMessage,
          `${topic} burst`,
          600_000,
          250,
        );
      })
    ).ms;
  const n = ctx.quick ? 5 : 40;
  const size = ctx.quick ? 30 : 300;
  const { runtime, bare } = OVERHEAD.functions;
  ctx.say(
    `3. runtime overhead: ${n} sequential messages each way (alternating), then a burst of ${size} each`,
  );
  try {
    await one(runtime);
    await one(bare); // warm both
    const runtimeMs: number[] = [];
    const bareMs: number[] = [];
    for (let i = 0; i < n; i += 1) {
      runtimeMs.push(await one(runtime));
      bareMs.push(await one(bare));
    }
    const runtimeBurst = await burst(runtime, '2031-02-01', size);
    const bareBurst = await burst(bare, '2031-02-02', size);
    const figuresOf = (ms: readonly number[], burstMs: number) => ({
      p50Ms: Math.round(percentile(ms, 50)),
      p95Ms: Math.round(percentile(ms, 95)),
      messagesPerSecond: Math.round((size / (burstMs / 1000)) * 10) / 10,
    });
    const figures = figuresOf(runtimeMs, runtimeBurst);
    const baseFigures = figuresOf(bareMs, bareBurst);
    const latencyRatio = ratio(figures.p50Ms, baseFigures.p50Ms);
    const throughputRatio = ratio(baseFigures.messagesPerSecond, figures.messagesPerSecond);
    return {
      id: 3,
      name: 'runtime overhead: one processor (10 documents) behind the phase runtime',
      figures: { ...figures, latencyRatio },
      baseline: {
        name: 'the same processor in a bare functions-framework handler, same push path',
        figures: baseFigures,
      },
      ratio: throughputRatio,
      headline: 'throughput of a burst, bare / runtime (p50 latency ratio in figures)',
      // Issue 17's target.
      target: `at most ${THROUGHPUT_TARGET}x`,
      met: throughputRatio <= THROUGHPUT_TARGET,
    };
  } finally {
    await overhead.stop();
  }
}
