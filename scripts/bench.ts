// `npm run bench`: phasegate's figures, each beside a baseline measured in the same run on the
// same emulators. Prints a table and writes JSON (BENCHMARKS.md records a run).
import { randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { referenceDefinition } from '../functions/pipeline/definition.ts';
import { seasonOfDate } from '../functions/pipeline/season.ts';
import { createFirestore, createFirestoreStore } from '../shared/adapters/firestore-store.ts';
import { createPubSub, createPubSubPublisher } from '../shared/adapters/pubsub-publisher.ts';
import type { LoadedDefinition } from '../shared/definition/load.ts';
import { createLogger } from '../shared/lib/logger.ts';
import { makeRequestId, phaseTopic, TOPICS, type ProcessorRequest } from '../shared/messages/messages.ts';
import { newTraceparent } from '../shared/messages/fields.ts';
import { systemClock } from '../shared/ports/clock.ts';
import type { DocumentStore } from '../shared/ports/store.ts';
import { chunk } from '../shared/ports/store.ts';
import { dueEntriesQuery, runAutoRetryTick } from '../shared/recovery/auto-retry.ts';
import { COLLECTIONS } from '../shared/runtime/collections.ts';
import { provisionLocal } from '../infra/local/provision.ts';
import type { ResourcePlan } from '../infra/plan.ts';
import { defaultPorts, startEmulators, type Emulators } from './lib/emulators.ts';
import { functionBuild } from './lib/function-build.ts';
import { startFunctions } from './lib/functions.ts';
import { repoRoot } from './lib/local-pipeline.ts';
import { startStack, type Stack } from './lib/stack.ts';
import { loadCsvDataset, type Dataset } from './source-api/dataset.ts';
import { startSourceApi } from './source-api/server.ts';
import { syntheticDataset } from './source-api/synthetic.ts';
import { BENCH_COLLECTION, DOCS_PER_MESSAGE } from './bench/overhead-functions.ts';
import { startLimitPipeline } from './bench/limit-pipeline.ts';
import { percentile, ratio, runChains, timed, waitFor } from './bench/stats.ts';

interface Result {
  id: number;
  name: string;
  figures: Record<string, number>;
  baseline: { name: string; figures: Record<string, number> };
  /** value / baseline for the headline figure. */
  ratio: number;
  headline: string;
  target?: string;
  met?: boolean;
}

const program = new Command('bench')
  .option('--only <ids>', 'run only these benchmarks (comma-separated: 1-6)', (v) => v.split(',').map(Number))
  .option('--quick', 'small sizes: a smoke run, not figures to record')
  .option('--out <file>', 'JSON results', join(repoRoot, '.phasegate', 'bench', 'results.json'))
  .parse();
const options = program.opts<{ only?: number[]; quick?: boolean; out: string }>();
const wanted = (id: number) => !options.only || options.only.includes(id);
const quick = Boolean(options.quick);
const logDir = join(repoRoot, '.phasegate', 'logs', 'bench');
const say = (line: string) => process.stdout.write(`${line}\n`);
const project = (label: string) => `bench-${label}-${randomUUID().slice(0, 6)}`;

/** The reference pipeline's stack on a source API serving `dataset`, in its own project. */
async function referenceStack(emulators: Emulators, dataset: Dataset, label: string) {
  const source = await startSourceApi({ dataset });
  const projectId = project(label);
  const stack: Stack = await startStack({
    definition: referenceDefinition,
    functionsSource: join(repoRoot, 'functions', 'index.ts'),
    projectId,
    emulators,
    logDir,
    functionEnv: () => ({ SOURCE_API_URL: source.url, LOG_LEVEL: 'warn' }),
  });
  const db = createFirestore(projectId, emulators.env.FIRESTORE_EMULATOR_HOST);
  const store = createFirestoreStore(db, {});
  const topic = stack.pubsub.topic(TOPICS.runRequests, { batching: { maxMessages: 1, maxMilliseconds: 0 } });
  return {
    store,
    /** Request to SUCCESS for one date; anything else is an error (a benchmark of failures is no benchmark). */
    async runDate(partition: string): Promise<string> {
      const messageId = await topic.publishMessage({
        json: { partition, triggerSource: 'backfill', requestedBy: 'bench' },
      });
      let runId: string | undefined;
      await waitFor(async () => {
        runId ??= (
          await store.query(COLLECTIONS.runs, {
            filters: [{ field: 'requestMessageId', op: '==', value: messageId }],
            limit: 1,
          })
        )[0]?.id;
        if (!runId) return false;
        const status = (await store.get(COLLECTIONS.runs, runId))?.status as string | undefined;
        if (status === 'PARTIAL' || status === 'FAILED')
          throw new Error(`run ${runId} for ${partition} ended ${status}`);
        return status === 'SUCCESS';
      }, `run for ${partition}`);
      return runId!;
    },
    async stop() {
      await stack.stop();
      await db.terminate();
      await source.close();
    },
  };
}

/**
 * Where a date's time goes, from its event log: dispatch (previous gate or run start to the
 * phase's first processor start), processing (first start to last completion), and fan-in
 * with the gate (last completion to gate_passed). Averages over the runs, in ms.
 */
async function breakdown(store: DocumentStore, runIds: readonly string[]): Promise<Record<string, number>> {
  const sums = { dispatchMs: 0, processingMs: 0, fanInAndGateMs: 0 };
  for (const runId of runIds) {
    const events = (
      await store.query(COLLECTIONS.events, { filters: [{ field: 'runId', op: '==', value: runId }] })
    ).map((e) => e.data as { type: string; at: string; phase?: string });
    const at = (e: { at: string }) => Date.parse(e.at);
    let previous = Math.min(...events.filter((e) => e.type === 'run_started').map(at));
    for (const phase of referenceDefinition.phases.map((p) => p.id)) {
      const mine = events.filter((e) => e.phase === phase);
      const started = Math.min(...mine.filter((e) => e.type === 'processor_started').map(at));
      const completed = Math.max(...mine.filter((e) => e.type === 'processor_completed').map(at));
      const gate = Math.min(...mine.filter((e) => e.type === 'gate_passed').map(at));
      sums.dispatchMs += started - previous;
      sums.processingMs += completed - started;
      sums.fanInAndGateMs += gate - completed;
      previous = gate;
    }
  }
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, Math.round(v / runIds.length)]));
}

async function latencies(
  dates: readonly string[],
  runDate: (d: string) => Promise<unknown>,
): Promise<number[]> {
  const ms: number[] = [];
  for (const date of dates) ms.push((await timed(() => runDate(date))).ms);
  return ms;
}

function seasonChains(dates: readonly string[]): string[][] {
  const chains = new Map<string, string[]>();
  for (const d of [...dates].sort()) chains.set(seasonOfDate(d), [...(chains.get(seasonOfDate(d)) ?? []), d]);
  return [...chains.values()];
}

async function endToEnd(
  emulators: Emulators,
  dataset: Dataset,
  definition: LoadedDefinition,
): Promise<Result> {
  const season = dataset.dates.filter((d) => seasonOfDate(d) === '2023-24').slice(0, quick ? 3 : 22);
  say(
    `1. one date end to end: ${season.length} dates of 2023-24 in order, phasegate then the limit pipeline`,
  );
  const ref = await referenceStack(emulators, dataset, 'e2e');
  const runIds: string[] = [];
  let where: Record<string, number> = {};
  const ours = await latencies(season, async (d) => runIds.push(await ref.runDate(d)))
    .then(async (ms) => {
      where = await breakdown(ref.store, runIds);
      return ms;
    })
    .finally(() => ref.stop());
  const limit = await startLimitPipeline(definition, emulators, project('e2e-limit'), logDir);
  const base = await latencies(season, (d) => limit.runDate(d)).finally(() => limit.stop());
  const figures = {
    runs: ours.length,
    p50Ms: Math.round(percentile(ours, 50)),
    p95Ms: Math.round(percentile(ours, 95)),
    ...where,
  };
  const baseFigures = {
    runs: base.length,
    p50Ms: Math.round(percentile(base, 50)),
    p95Ms: Math.round(percentile(base, 95)),
  };
  return {
    id: 1,
    name: 'one game date, request to SUCCESS',
    figures,
    baseline: { name: 'limit pipeline (no-op functions, same topology)', figures: baseFigures },
    ratio: ratio(figures.p50Ms, baseFigures.p50Ms),
    headline: 'p50 latency',
  };
}

async function backfillAll(
  id: number,
  name: string,
  emulators: Emulators,
  dataset: Dataset,
  definition: LoadedDefinition,
  dates: string[],
  label: string,
  target?: number,
): Promise<Result> {
  const chains = seasonChains(dates);
  say(
    `${id}. ${name}: ${dates.length} dates in ${chains.length} season chain(s), all chains in parallel; phasegate then the limit pipeline`,
  );
  let done = 0;
  const progress = () => {
    done += 1;
    if (done % 50 === 0) say(`   ${done}/${dates.length}`);
  };
  const ref = await referenceStack(emulators, dataset, label);
  const ours = await timed(() => runChains(chains, chains.length, (d) => ref.runDate(d), progress)).finally(
    () => ref.stop(),
  );
  done = 0;
  const limit = await startLimitPipeline(definition, emulators, project(`${label}-limit`), logDir);
  const base = await timed(() => runChains(chains, chains.length, (d) => limit.runDate(d), progress)).finally(
    () => limit.stop(),
  );
  const perMinute = (ms: number) => Math.round((dates.length / (ms / 60_000)) * 10) / 10;
  const r = ratio(ours.ms, base.ms);
  return {
    id,
    name,
    figures: {
      dates: dates.length,
      wallSeconds: Math.round(ours.ms / 100) / 10,
      datesPerMinute: perMinute(ours.ms),
    },
    baseline: {
      name: '(4) the limit: no-op pipeline, same topology, same dates and order',
      figures: {
        dates: dates.length,
        wallSeconds: Math.round(base.ms / 100) / 10,
        datesPerMinute: perMinute(base.ms),
      },
    },
    ratio: r,
    headline: 'wall time',
    ...(target ? { target: `within ${target}x of the limit`, met: r <= target } : {}),
  };
}

function processorRequest(partition: string): ProcessorRequest {
  const runId = `bench-${randomUUID().slice(0, 12)}`;
  return {
    runId,
    requestId: makeRequestId({ runId, phase: 'work', processor: 'bench-write' }),
    phase: 'work',
    processor: 'bench-write',
    partition,
    triggerSource: 'manual',
    parentEventId: null,
    traceparent: newTraceparent(),
  };
}

async function runtimeOverhead(emulators: Emulators): Promise<Result> {
  const projectId = project('overhead');
  // Auth off, said out loud: the functions run as on Cloud Run (K_SERVICE set), where an unset mode refuses to start.
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
  const specs = ['phase-work', 'bare-work'].map((name) => ({
    name,
    target: name,
    source,
    signatureType: 'http' as const,
    env,
    logDir,
  }));
  const fns = await startFunctions(specs);
  const sub = (topic: string, pushTo: string) => ({
    name: `${topic}-sub`,
    topic,
    pushTo,
    ackDeadlineSeconds: 120,
    retryPolicy: { minBackoffSeconds: 1, maxBackoffSeconds: 10 },
    deadLetter: null,
  });
  const plan: ResourcePlan = {
    topics: ['phase-work', 'bare-work', TOPICS.processorCompletions],
    functions: [],
    subscriptions: [sub('phase-work', 'phase-work'), sub('bare-work', 'bare-work')],
    schedules: [],
  };
  const pubsub = createPubSub(projectId, emulators.env.PUBSUB_EMULATOR_HOST);
  await provisionLocal(pubsub, plan, projectId, new Map(fns.map((f) => [f.name, f.url])));
  const db = createFirestore(projectId, emulators.env.FIRESTORE_EMULATOR_HOST);
  const store = createFirestoreStore(db, {});
  const publish = (topic: string, request: ProcessorRequest) =>
    pubsub
      .topic(topic, { batching: { maxMessages: 1, maxMilliseconds: 0 } })
      .publishMessage({ json: request });
  const written = async (request: ProcessorRequest) =>
    (await store.get(BENCH_COLLECTION, `${request.requestId}-${DOCS_PER_MESSAGE - 1}`)) !== undefined;
  const one = async (topic: string) => {
    const request = processorRequest('2031-01-01');
    return (
      await timed(async () => {
        await publish(topic, request);
        await waitFor(() => written(request), `${topic} ${request.requestId}`, 60_000, 10);
      })
    ).ms;
  };
  const burst = async (topic: string, partition: string, n: number) =>
    (
      await timed(async () => {
        await Promise.all(Array.from({ length: n }, () => publish(topic, processorRequest(partition))));
        await waitFor(
          async () =>
            (await store.countWhere(BENCH_COLLECTION, [
              { field: 'partition', op: '==', value: partition },
            ])) >=
            n * DOCS_PER_MESSAGE,
          `${topic} burst`,
          600_000,
          250,
        );
      })
    ).ms;
  const n = quick ? 5 : 40;
  say(
    `3. runtime overhead: ${n} sequential messages each way (alternating), then a burst of ${quick ? 30 : 300} each`,
  );
  try {
    await one('phase-work');
    await one('bare-work'); // warm both
    const runtime: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < n; i += 1) {
      runtime.push(await one('phase-work'));
      bare.push(await one('bare-work'));
    }
    const size = quick ? 30 : 300;
    const runtimeBurst = await burst('phase-work', '2031-02-01', size);
    const bareBurst = await burst('bare-work', '2031-02-02', size);
    const figures = {
      p50Ms: Math.round(percentile(runtime, 50)),
      p95Ms: Math.round(percentile(runtime, 95)),
      messagesPerSecond: Math.round((size / (runtimeBurst / 1000)) * 10) / 10,
    };
    const baseFigures = {
      p50Ms: Math.round(percentile(bare, 50)),
      p95Ms: Math.round(percentile(bare, 95)),
      messagesPerSecond: Math.round((size / (bareBurst / 1000)) * 10) / 10,
    };
    const latencyRatio = ratio(figures.p50Ms, baseFigures.p50Ms);
    const throughputRatio = ratio(baseFigures.messagesPerSecond, figures.messagesPerSecond);
    return {
      id: 3,
      name: 'runtime overhead: one processor (10 documents) behind the phase runtime',
      figures: { ...figures, throughputRatio },
      baseline: {
        name: 'the same processor in a bare functions-framework handler, same push path',
        figures: baseFigures,
      },
      ratio: latencyRatio,
      headline: 'p50 latency (throughput ratio in figures)',
      target: 'at most 1.2x',
      met: latencyRatio <= 1.2 && throughputRatio <= 1.2,
    };
  } finally {
    await Promise.all(fns.map((f) => f.process.stop()));
    await pubsub.close();
    await db.terminate();
  }
}

async function seedQueue(store: DocumentStore, total: number, due: number): Promise<void> {
  const now = Date.now();
  const phases = referenceDefinition.phases;
  const docs = Array.from({ length: total }, (_, i) => {
    const phase = phases[i % phases.length]!;
    const processor = phase.processors[i % phase.processors.length]!.name;
    const runId = `bench-run-${i}`;
    const request: ProcessorRequest = {
      runId,
      requestId: makeRequestId({ runId, phase: phase.id, processor }),
      phase: phase.id,
      processor,
      partition: '2024-04-21',
      triggerSource: 'manual',
      parentEventId: null,
      traceparent: newTraceparent(),
    };
    const isDue = i < due;
    return {
      collection: COLLECTIONS.queue,
      id: request.requestId,
      data: {
        requestId: request.requestId,
        status: isDue ? 'pending' : i % 3 === 0 ? 'failed_permanent' : 'pending',
        errorType: 'transient',
        errorReason: 'unavailable',
        lastError: 'bench',
        needsManualFix: false,
        runId,
        partition: request.partition,
        phase: phase.id,
        processor,
        request,
        failureEventId: `${request.requestId}--a1--processor_failed`,
        firstFailedAt: new Date(now - 3_600_000).toISOString(),
        retryCount: 0,
        nextRetryAt: isDue
          ? new Date(now - 60_000 - i).toISOString()
          : new Date(now + 3_600_000 + i).toISOString(),
        deadlineAt: null,
      },
    };
  });
  await store.writeBatch(docs);
}

async function autoRetryTick(emulators: Emulators): Promise<Result> {
  const total = quick ? 1000 : 10_000;
  const due = total / 10;
  say(`5. auto-retry tick over ${total} queue entries, ${due} due`);
  const measure = async (
    label: string,
    run: (deps: {
      store: DocumentStore;
      publisher: ReturnType<typeof createPubSubPublisher>;
    }) => Promise<unknown>,
  ) => {
    const projectId = project(label);
    const db = createFirestore(projectId, emulators.env.FIRESTORE_EMULATOR_HOST);
    const pubsub = createPubSub(projectId, emulators.env.PUBSUB_EMULATOR_HOST);
    try {
      for (const p of referenceDefinition.phases) await pubsub.createTopic(phaseTopic(p.id));
      const store = createFirestoreStore(db, {});
      await seedQueue(store, total, due);
      return (await timed(() => run({ store, publisher: createPubSubPublisher(pubsub) }))).ms;
    } finally {
      await pubsub.close();
      await db.terminate();
    }
  };
  const logger = createLogger({ name: 'bench', level: 'warn' });
  let retried = 0;
  const tickMs = await measure('retry', async (deps) => {
    retried = (
      await runAutoRetryTick({ definition: referenceDefinition, clock: systemClock, logger, ...deps })
    ).retried;
  });
  if (retried !== due) throw new Error(`the tick retried ${retried} entries, not the ${due} due`);
  // Baseline: the same I/O with no claims, no transactions and no events: read the due entries,
  // publish each request, mark them all in batches.
  const bareMs = await measure('retry-bare', async ({ store, publisher }) => {
    const entries = await store.query(COLLECTIONS.queue, dueEntriesQuery(new Date().toISOString(), due));
    await Promise.all(
      entries.map((e) => publisher.publish(phaseTopic(String(e.data.phase)), e.data.request)),
    );
    for (const part of chunk(entries, 500))
      await store.writeBatch(
        part.map((e) => ({
          collection: COLLECTIONS.queue,
          id: e.id,
          data: { status: 'retrying' },
          merge: true,
        })),
      );
  });
  const seconds = Math.round(tickMs / 100) / 10;
  return {
    id: 5,
    name: `auto-retry tick: ${total} entries, ${due} due`,
    figures: { entries: total, due, retried, seconds },
    baseline: {
      name: 'the same reads, publishes and writes without claims (no transactions, no events)',
      figures: { seconds: Math.round(bareMs / 100) / 10 },
    },
    ratio: ratio(tickMs, bareMs),
    headline: 'tick time',
    target: 'under 10 s',
    met: seconds < 10,
  };
}

function table(results: readonly Result[]): string {
  const fmt = (f: Record<string, number>) =>
    Object.entries(f)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  const rows = results.map(
    (r) =>
      `| ${r.id} | ${r.name} | ${fmt(r.figures)} | ${r.baseline.name}: ${fmt(r.baseline.figures)} | ${r.ratio}x ` +
      `(${r.headline}) | ${r.target ? `${r.target}: ${r.met ? 'met' : 'MISSED'}` : ''} |`,
  );
  return [
    '| # | benchmark | phasegate | baseline (same run) | ratio | target |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
};
say(
  `phasegate bench${quick ? ' (quick: smoke sizes, not figures to record)' : ''} on ${machine.cpus} x ` +
    `${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}`,
);
process.env.METADATA_SERVER_DETECTION ??= 'none';
// Throughput is measured: the emulators' optimising compiler pays back here.
const emulators = await startEmulators({
  logDir,
  preferredPorts: defaultPorts(join(repoRoot, 'firebase.json')),
  jit: 'full',
});
const results: Result[] = [];
try {
  const dataset = loadCsvDataset();
  if (wanted(1)) results.push(await endToEnd(emulators, dataset, referenceDefinition));
  if (wanted(2)) {
    const dates = quick
      ? seasonChains(dataset.dates)
          .slice(0, 3)
          .flatMap((c) => c.slice(0, 4))
      : dataset.dates;
    results.push(
      await backfillAll(
        2,
        `backfill of ${quick ? 'a sample of' : 'all'} ${dates.length} real game dates`,
        emulators,
        dataset,
        referenceDefinition,
        dates,
        'backfill',
        1.5,
      ),
    );
  }
  if (wanted(3)) results.push(await runtimeOverhead(emulators));
  if (wanted(5)) results.push(await autoRetryTick(emulators));
  if (wanted(6)) {
    const synthetic = syntheticDataset({
      seed: 42,
      headers: dataset.headers,
      ...(quick ? { games: 40 } : {}),
    });
    const games = synthetic.dates.reduce((n, d) => n + synthetic.scheduleOn(d).length, 0);
    results.push(
      await backfillAll(
        6,
        `synthetic full season: ${games} games on ${synthetic.dates.length} dates`,
        emulators,
        synthetic,
        referenceDefinition,
        synthetic.dates,
        'synthetic',
      ),
    );
  }
} finally {
  await emulators.stop();
}
say('');
say(table(results));
mkdirSync(dirname(options.out), { recursive: true });
writeFileSync(
  options.out,
  `${JSON.stringify({ at: new Date().toISOString(), quick, machine, results }, null, 2)}\n`,
);
say(`\nwrote ${options.out}`);
