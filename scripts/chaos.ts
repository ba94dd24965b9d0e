// `npm run chaos -- --dates N --seed S`: a backfill of N real dates while faults are injected at
// random (reproducible from the seed), then every domain collection compared with a fault-free
// run of the same dates. Exits 1 on any loss, duplicate or difference, or an unexplained run.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { Firestore } from '@google-cloud/firestore';
import { referenceDefinition, referenceDefinitionInput } from '../functions/pipeline/definition.ts';
import { seasonOfDate } from '../functions/pipeline/season.ts';
import { createFirestore, createFirestoreStore } from '../shared/adapters/firestore-store.ts';
import { createPubSubPublisher } from '../shared/adapters/pubsub-publisher.ts';
import { loadDefinition, type LoadedDefinition } from '../shared/definition/load.ts';
import { phaseTopic, TOPICS } from '../shared/messages/messages.ts';
import { newTraceparent } from '../shared/messages/fields.ts';
import { runRequestEntryId, runRequestKey } from '../shared/messages/run-request-key.ts';
import { describeHeld } from '../shared/ports/held-messages.ts';
import { ORCHESTRATOR_DLQ_TOPIC } from '../infra/plan.ts';
import { peekControlDlq } from './lib/control-dlq.ts';
import type { DocumentStore } from '../shared/ports/store.ts';
import { COLLECTIONS } from '../shared/runtime/collections.ts';
import type { FaultSpec } from '../shared/runtime/faults.ts';
import type { FaultRuleInput } from './source-api/faults.ts';
import { defaultPorts, startEmulators, type Emulators } from './lib/emulators.ts';
import { repoRoot } from './lib/local-pipeline.ts';
import { localJobs, startLocalScheduler } from './lib/local-scheduler.ts';
import { seededRandom } from './lib/seeded.ts';
import { compareSnapshots, snapshotCollections, type Difference } from './lib/chaos-compare.ts';
import { freePort } from './lib/ports.ts';
import { startStack, type Stack } from './lib/stack.ts';
import { table } from './lib/table.ts';
import { FINAL_STATUSES } from './lib/watch-run.ts';
import { loadCsvDataset, type Dataset } from './source-api/dataset.ts';
import { startSourceApi } from './source-api/server.ts';

const KINDS = [
  'write failure',
  'slow handler',
  'duplicate delivery',
  'process kill',
  'source 429',
  'source 5xx',
  'source timeout',
  'poison message',
  // Logic faults: the data or the order of things is wrong, not the infrastructure.
  'short data',
  'late dead letter',
  'forced second run',
  'dead-lettered scheduled request',
  'oversized poison',
  'id with /',
] as const;
type Kind = (typeof KINDS)[number];

const positive = (max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new InvalidArgumentError(`"${value}" is not a whole number from 1 to ${max}`);
  return n;
};
const program = new Command('chaos')
  .description('backfill real dates under random faults and prove nothing was lost')
  .option('--dates <n>', 'how many game dates (from the start of a season the seed picks)', positive(200), 10)
  .option('--seed <s>', 'the seed: the same seed injects the same faults', positive(2 ** 31), 1)
  .option('--json', 'print the report as JSON')
  .option(
    '--without <kinds>',
    `leave these fault kinds out (comma-separated; "short data" alone takes minutes: its gate re-runs back off ` +
      `60, 120, 240 s before it needs a person). Kinds: ${KINDS.join(', ')}`,
    (value: string) => {
      const kinds = value
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean);
      const unknown = kinds.filter((k) => !(KINDS as readonly string[]).includes(k));
      if (unknown.length)
        throw new InvalidArgumentError(
          `unknown fault kind(s) ${unknown.join(', ')}; kinds: ${KINDS.join(', ')}`,
        );
      return kinds as Kind[];
    },
    [] as Kind[],
  )
  .parse();
const options = program.opts<{ dates: number; seed: number; json?: boolean; without: Kind[] }>();
const enabled = (kind: Kind) => !options.without.includes(kind);
const say = (line: string) => {
  if (!options.json) process.stdout.write(`${line}\n`);
};
const logDir = join(repoRoot, '.phasegate', 'logs', 'chaos');
const RUN_TIMEOUT_MS = 8 * 60_000;
const QUIET_TIMEOUT_MS = 6 * 60_000;
/** Short data needs three gate re-runs, backed off 60, 120 and 240 s (the reference queue), before it needs a person. */
const SHORT_DATA_QUIET_TIMEOUT_MS = 14 * 60_000;

interface Tally {
  injected: number;
  recovered: number;
  person: number;
  lost: number;
}

/**
 * The reference definition with short phase ack deadlines, so a slow handler outlives one for
 * real, and a quicker redelivery backoff, so a soak takes minutes.
 */
function chaosDefinition(): LoadedDefinition {
  const input = structuredClone(referenceDefinitionInput) as unknown as {
    phases: { subscription: Record<string, number>; function: { timeoutSeconds: number } }[];
  };
  for (const phase of input.phases) {
    Object.assign(phase.subscription, {
      ackDeadlineSeconds: 12,
      minBackoffSeconds: 1,
      maxBackoffSeconds: 10,
    });
    phase.function.timeoutSeconds = 11;
  }
  return loadDefinition(input);
}
const SLOW_HANDLER_MS = 15_000;
/** The scrapers' per-request timeout in both runs, and a source response slower than it. */
const SOURCE_CLIENT_TIMEOUT_MS = 4000;
const SOURCE_TIMEOUT_DELAY_MS = 5000;

function pickDates(dataset: Dataset, n: number, random: ReturnType<typeof seededRandom>): string[] {
  const seasons = new Map<string, string[]>();
  for (const d of dataset.dates) seasons.set(seasonOfDate(d), [...(seasons.get(seasonOfDate(d)) ?? []), d]);
  const long = [...seasons.values()].filter((dates) => dates.length >= n);
  if (long.length === 0)
    throw new InvalidArgumentError(
      `no season has ${n} game dates (the longest has ${Math.max(...[...seasons.values()].map((d) => d.length))})`,
    );
  // From the first date of the season: later dates of a season need the earlier ones.
  return random.pick(long).slice(0, n);
}

interface Pipeline {
  stack: Stack;
  store: DocumentStore;
  db: Firestore;
  source: Awaited<ReturnType<typeof startSourceApi>>;
  stop(): Promise<void>;
}

async function startPipeline(
  emulators: Emulators,
  dataset: Dataset,
  label: string,
  definition: LoadedDefinition,
  functionEnv: (name: string) => Record<string, string>,
  sourceFaults: FaultRuleInput[],
): Promise<Pipeline> {
  // One port for both runs: the source's URL is part of what the scrapers store.
  const source = await startSourceApi({ dataset, faults: sourceFaults, port: sourcePort });
  const projectId = `chaos-${label}-${randomUUID().slice(0, 6)}`;
  const stack = await startStack({
    definition,
    functionsSource: join(repoRoot, 'functions', 'index.ts'),
    projectId,
    emulators,
    logDir,
    functionEnv: (name) => ({
      SOURCE_API_URL: source.url,
      LOG_LEVEL: 'warn',
      PHASEGATE_HTTP_TIMEOUT_MS: String(SOURCE_CLIENT_TIMEOUT_MS),
      ...functionEnv(name),
    }),
  });
  const db = createFirestore(projectId, emulators.env.FIRESTORE_EMULATOR_HOST);
  const store = createFirestoreStore(db, {});
  return {
    stack,
    store,
    db,
    source,
    async stop() {
      await stack.stop();
      await db.terminate();
      await source.close();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Forced {
  gameDate: string;
  oldRunId: string;
  newRunId: string | null;
}

/** The run a RunRequest message started, once it exists (null at the deadline). */
async function runOf(
  p: Pipeline,
  messageId: string,
  until: (status: string) => boolean,
): Promise<{ runId: string; status: string } | null> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  let found: { runId: string; status: string } | null = null;
  while (Date.now() < deadline) {
    const [run] = await p.store.query(COLLECTIONS.runs, {
      filters: [{ field: 'requestMessageId', op: '==', value: messageId }],
      limit: 1,
    });
    found = run ? { runId: String(run.data.runId), status: String(run.data.status) } : null;
    if (found && until(found.status)) return found;
    await sleep(250);
  }
  return found;
}

/**
 * Publishes each date's run request in order and waits for the run to be final. For `forceDate`,
 * a forced second run is published while the first is RUNNING: the first must end SUPERSEDED.
 */
async function runDates(
  p: Pipeline,
  dates: readonly string[],
  forceDate?: string,
): Promise<{ statuses: Map<string, string>; forced: Forced | null }> {
  const statuses = new Map<string, string>();
  let forced: Forced | null = null;
  const topic = p.stack.pubsub.topic(TOPICS.runRequests, {
    batching: { maxMessages: 1, maxMilliseconds: 0 },
  });
  for (const gameDate of dates) {
    const messageId = await topic.publishMessage({
      json: { partition: gameDate, triggerSource: 'backfill', requestedBy: 'chaos' },
    });
    let run = await runOf(p, messageId, (status) => gameDate === forceDate || FINAL_STATUSES.has(status));
    if (gameDate === forceDate && run) {
      const second = await topic.publishMessage({
        json: {
          partition: gameDate,
          triggerSource: 'manual',
          force: true,
          requestedBy: 'chaos: forced second run',
        },
      });
      const next = await runOf(p, second, (status) => FINAL_STATUSES.has(status));
      forced = { gameDate, oldRunId: run.runId, newRunId: next?.runId ?? null };
      say(`  ${gameDate}  forced a second run mid-run: ${run.runId} -> ${next?.runId ?? 'none'}`);
      run = next;
    }
    const status = run?.status ?? 'NO_RUN';
    statuses.set(gameDate, status);
    say(`  ${gameDate}  ${status}`);
  }
  return { statuses, forced };
}

const random = seededRandom(options.seed);
const sourcePort = await freePort();
process.env.METADATA_SERVER_DETECTION ??= 'none';
const dataset = loadCsvDataset();
const dates = pickDates(dataset, options.dates, random);
const outputs = [
  ...new Set(
    referenceDefinition.phases.flatMap((p) =>
      p.processors.flatMap((s) => s.outputs.map((o) => o.collection)),
    ),
  ),
];
say(`chaos soak: ${dates.length} dates (${dates[0]} .. ${dates.at(-1)}), seed ${options.seed}`);

// --- the faults, all drawn from the seed
const processors = referenceDefinition.processorNames();
const n = dates.length;
const writeFailures = random
  .sample(processors, Math.max(1, Math.ceil(n / 3)))
  .map((processor) => ({ processor, times: random.int(1, 2) }));
const slowHandlers = random
  .sample(processors, Math.max(1, Math.floor(n / 6)))
  .map((processor) => ({ processor, delayMs: SLOW_HANDLER_MS, times: 1 }));
const functionNames = [
  'orchestrator-runs',
  'orchestrator-completions',
  ...referenceDefinition.phases.map((p) => `phase-${p.id}`),
];
const duplicating = random.sample(functionNames, 1 + Math.floor(n / 8));
// Every kind of source fault at least once, then as many more as a third of the dates.
const sourceFaults: (FaultRuleInput & { label: Kind })[] = Array.from(
  { length: Math.max(3, Math.ceil(n / 3)) },
  (_, i) => {
    const date = random.pick(dates);
    const endpoint = random.pick(['boxscores', 'schedule'] as const);
    const kind = (['rate_limit', 'server_error', 'slow'] as const)[i % 3]!;
    if (kind === 'rate_limit')
      return {
        label: 'source 429',
        endpoint,
        kind,
        dates: [date],
        times: random.int(1, 3),
        retryAfterSeconds: 1,
      };
    if (kind === 'server_error')
      return {
        label: 'source 5xx',
        endpoint,
        kind,
        dates: [date],
        times: random.int(1, 3),
        status: random.pick([500, 502, 503]),
      };
    return {
      label: 'source timeout',
      endpoint,
      kind,
      dates: [date],
      times: 1,
      delayMs: SOURCE_TIMEOUT_DELAY_MS,
    };
  },
);
const kills = Math.max(2, Math.ceil(n / 3));
const poisonCount = 2 + Math.floor(n / 10);
// Logic faults. Short data on the last date (later dates of a season read the earlier ones: a short
// date in the middle would make every later date differ too), for longer than the retry budget.
const shortDate = enabled('short data') && n >= 2 ? dates.at(-1)! : null;
const others = dates.filter((d) => d !== shortDate);
const forceDate = enabled('forced second run') ? random.pick(others) : undefined;
const relativeDate = enabled('dead-lettered scheduled request')
  ? random.pick(others.length > 1 ? others.filter((d) => d !== forceDate) : others)
  : undefined;
if (shortDate)
  sourceFaults.push({
    label: 'short data',
    endpoint: 'boxscores',
    kind: 'missing_rows',
    dates: [shortDate],
    rows: 2,
  });

function faultsFor(name: string): Record<string, string> {
  const phase = referenceDefinition.phases.find((p) => `phase-${p.id}` === name);
  const mine = <T extends { processor: string }>(list: T[]): T[] =>
    list.filter((f) => phase?.processors.some((s) => s.name === f.processor));
  const spec: Partial<FaultSpec> = {
    writeFailures: mine(writeFailures),
    slowHandlers: mine(slowHandlers),
    duplicatePublishes: duplicating.includes(name) ? 2 : 1,
  };
  return { PHASEGATE_FAULTS: JSON.stringify(spec) };
}

const tally = new Map<Kind, Tally>();
const count = (kind: Kind, field: keyof Tally, by = 1) => {
  const t = tally.get(kind) ?? { injected: 0, recovered: 0, person: 0, lost: 0 };
  t[field] += by;
  tally.set(kind, t);
};

const emulators = await startEmulators({
  logDir,
  preferredPorts: defaultPorts(join(repoRoot, 'firebase.json')),
});
let exitCode = 0;
try {
  say('\nreference run (no faults)');
  const reference = await startPipeline(emulators, dataset, 'reference', referenceDefinition, () => ({}), []);
  let referenceData: Map<string, Map<string, string>>;
  try {
    const { statuses } = await runDates(reference, dates);
    const bad = [...statuses].filter(([, s]) => s !== 'SUCCESS');
    if (bad.length)
      throw new Error(
        `the fault-free reference run did not succeed: ${bad.map(([d, s]) => `${d} ${s}`).join(', ')}`,
      );
    referenceData = await snapshotCollections(reference.db, outputs);
  } finally {
    await reference.stop();
  }

  say(
    `\nchaos run: write failures ${JSON.stringify(writeFailures)}; slow ` +
      `${slowHandlers.map((s) => s.processor).join(', ')}; duplicating ${duplicating.join(', ')}; ` +
      `${sourceFaults.length} source faults; ${kills} kills; ${poisonCount} poison messages`,
  );
  const chaos = await startPipeline(
    emulators,
    dataset,
    'faults',
    chaosDefinition(),
    faultsFor,
    sourceFaults.map(({ label, ...rule }) => (void label, rule)),
  );
  const scheduler = startLocalScheduler(
    localJobs(referenceDefinition).filter((j) => j.name === 'auto-retry' || j.name === 'reconcile'),
    createPubSubPublisher(chaos.stack.pubsub),
    () => undefined,
  );
  const poison: string[] = [];
  let running = true;
  try {
    // Poison: bytes that are not JSON, JSON that is not a request, a run request with no date.
    const poisonMessages = Array.from({ length: poisonCount }, (_, i) => {
      const phase = random.pick(referenceDefinition.phases);
      return [
        { topic: phaseTopic(phase.id), data: Buffer.from('{not json') },
        { topic: phaseTopic(phase.id), data: Buffer.from(JSON.stringify({ hello: 'world', n: i })) },
        {
          topic: TOPICS.runRequests,
          data: Buffer.from(JSON.stringify({ partition: 'yesterday-ish', triggerSource: 'manual' })),
        },
      ][i % 3]!;
    });
    for (const m of poisonMessages)
      poison.push(await chaos.stack.pubsub.topic(m.topic).publishMessage({ data: m.data }));
    count('poison message', 'injected', poison.length);

    // Kills: a random function, at random moments while the dates run (the stack restarts it).
    const monkey = (async () => {
      for (let k = 0; k < kills && running; k += 1) {
        await sleep(random.int(3, 10) * 1000);
        if (!running) break;
        const victim = random.pick(functionNames);
        chaos.stack.functions.get(victim)?.process.child.kill('SIGKILL');
        count('process kill', 'injected');
        say(`  killed ${victim}`);
      }
    })();
    const { statuses, forced } = await runDates(chaos, dates, forceDate);
    running = false;
    await monkey;

    // Logic faults on what has run: a late dead letter of a completed request, a scheduled
    // "yesterday" request dead-lettered the day after the date it was for, an oversized poison
    // message and a request id that is a document path.
    const pubsub = chaos.stack.pubsub;
    const deadLetter = (topic: string, source: string, json: unknown, publishTime: string) =>
      pubsub.topic(topic).publishMessage({
        json,
        attributes: {
          CloudPubSubDeadLetterSourceSubscription: `projects/${chaos.stack.projectId}/subscriptions/${source}-sub`,
          CloudPubSubDeadLetterSourceDeliveryCount: '5',
          CloudPubSubDeadLetterSourceTopicPublishTime: publishTime,
        },
      });
    let lateRequestId: string | null = null;
    if (enabled('late dead letter')) {
      // A request of each date's current run (an old run's would be superseded, not late).
      const holders = new Map(
        (await chaos.store.query(COLLECTIONS.runLocks, {})).map((d) => [d.id, String(d.data.runId)]),
      );
      const done = (
        await chaos.store.query(COLLECTIONS.outbox, {
          filters: [{ field: 'status', op: '==', value: 'sent' }],
        })
      )
        .map(
          (d) =>
            d.data as { topic: string; runId: string; message: { requestId: string; partition: string } },
        )
        .filter(
          (e) =>
            e.topic.startsWith('phase-') &&
            e.message.partition !== shortDate &&
            statuses.get(e.message.partition) === 'SUCCESS' &&
            holders.get(e.message.partition) === e.runId,
        );
      const late = done.length ? random.pick(done) : undefined;
      if (late) {
        lateRequestId = late.message.requestId;
        await deadLetter(
          `${late.topic}-dlq`,
          late.topic,
          late.message,
          new Date(Date.now() - 60_000).toISOString(),
        );
        count('late dead letter', 'injected');
      }
    }
    let relativeEntry: string | null = null;
    if (relativeDate) {
      const dayAfter = new Date(Date.parse(`${relativeDate}T12:00:00Z`) + 86_400_000).toISOString();
      await deadLetter(
        ORCHESTRATOR_DLQ_TOPIC,
        TOPICS.runRequests,
        { relative: -1, timeZone: 'UTC', triggerSource: 'scheduled' },
        dayAfter,
      );
      relativeEntry = runRequestEntryId(
        runRequestKey({ partition: relativeDate, triggerSource: 'scheduled' }),
      );
      count('dead-lettered scheduled request', 'injected');
    }
    const oversized: string[] = [];
    if (enabled('oversized poison')) {
      const phase = random.pick(referenceDefinition.phases);
      // Over Firestore's 1 MiB document limit, under Pub/Sub's 10 MB message limit.
      oversized.push(
        await pubsub
          .topic(phaseTopic(phase.id))
          .publishMessage({ json: { requestId: 'oversized', padding: 'x'.repeat(1_500_000) } }),
      );
      count('oversized poison', 'injected');
    }
    const slashed: string[] = [];
    if (enabled('id with /')) {
      const phase = random.pick(referenceDefinition.phases);
      const processor = random.pick(phase.processors).name;
      const runId = 'chaos/run';
      slashed.push(
        await pubsub.topic(phaseTopic(phase.id)).publishMessage({
          json: {
            runId,
            requestId: `${runId}--${phase.id}--${processor}`,
            partition: dates[0],
            phase: phase.id,
            processor,
            triggerSource: 'manual',
            parentEventId: null,
            traceparent: newTraceparent(),
          },
        }),
      );
      count('id with /', 'injected');
    }

    // Each of these leaves a queue entry or an event once it arrived: wait for it (not for a fixed time).
    const arrivals = [
      ...[...oversized, ...slashed].map((id) => ({ collection: COLLECTIONS.queue, id: `msg-${id}` })),
      ...(relativeEntry ? [{ collection: COLLECTIONS.queue, id: relativeEntry }] : []),
    ];
    const arrivalDeadline = Date.now() + QUIET_TIMEOUT_MS;
    const arrived = async () =>
      (
        await Promise.all(arrivals.map(async (a) => Boolean(await chaos.store.get(a.collection, a.id))))
      ).every(Boolean) &&
      (!lateRequestId ||
        (
          await chaos.store.query(COLLECTIONS.events, {
            filters: [{ field: 'requestId', op: '==', value: lateRequestId }],
          })
        ).some((e) => e.data.type === 'dead_lettered'));
    const arrivalsFrom = Date.now();
    while (!(await arrived()) && Date.now() < arrivalDeadline) await sleep(1000);
    say(`  logic faults arrived in ${Math.round((Date.now() - arrivalsFrom) / 1000)} s`);
    const quietFrom = Date.now();

    // Quiet: nothing left to retry (the scheduler's ticks finish what the runs left), every run final.
    const deadline = Date.now() + (shortDate ? SHORT_DATA_QUIET_TIMEOUT_MS : QUIET_TIMEOUT_MS);
    for (;;) {
      const open = (
        await chaos.store.query(COLLECTIONS.queue, {
          filters: [{ field: 'status', op: 'in', value: ['pending', 'retrying', 'waiting'] }],
        })
      ).length;
      const runs = (
        await chaos.store.query(COLLECTIONS.runs, {
          filters: [{ field: 'status', op: '==', value: 'RUNNING' }],
        })
      ).length;
      if ((open === 0 && runs === 0) || Date.now() > deadline) break;
      await sleep(2000);
    }
    say(`  quiet after ${Math.round((Date.now() - quietFrom) / 1000)} s`);
    const allRuns = (await chaos.store.query(COLLECTIONS.runs, {})).map(
      (d) => d.data as { partition: string; status: string; runId: string; triggerSource: string },
    );
    // A date's outcome is its current run's (run_locks names it): an older run of it is history.
    const locks = new Map(
      (await chaos.store.query(COLLECTIONS.runLocks, {})).map((d) => [d.id, String(d.data.runId)]),
    );
    const current = new Map(dates.map((d) => [d, allRuns.find((r) => r.runId === locks.get(d))]));
    const queue = (await chaos.store.query(COLLECTIONS.queue, {})).map((d) => ({
      id: d.id,
      ...(d.data as {
        status: string;
        lastError: string;
        runId: string | null;
        partition: string | null;
        errorReason?: string;
      }),
    }));
    const events = (
      await chaos.store.query(COLLECTIONS.events, {
        filters: [{ field: 'type', op: '==', value: 'processor_failed' }],
      })
    ).map((d) => d.data as { message?: string; partition?: string });
    const held = await peekControlDlq(chaos.stack.pubsub);

    // --- what was injected, as the system saw it
    const writeFailed = events.filter((e) => e.message?.includes('injected write failure'));
    count('write failure', 'injected', writeFailed.length);
    count('slow handler', 'injected', slowHandlers.length);
    count('duplicate delivery', 'injected', duplicating.length);
    const left = chaos.source.faults.list();
    const sourceInjected = new Map<(typeof sourceFaults)[number], number>();
    for (const f of sourceFaults) {
      const remaining =
        left.find(
          (l) =>
            l.endpoint === f.endpoint &&
            l.kind === f.kind &&
            JSON.stringify(l.dates) === JSON.stringify(f.dates),
        )?.times ?? 0;
      // A fault without `times` lasts: it was injected if its date ran.
      const injected = f.times === undefined ? 1 : f.times - remaining;
      sourceInjected.set(f, injected);
      count(f.label, 'injected', injected);
    }

    // --- the verdict, per date: the data compared with the fault-free run, the current run's status,
    // and what the queue says about it
    const chaosData = await snapshotCollections(chaos.db, outputs);
    const diffs = compareSnapshots(referenceData, chaosData);
    const dateFields = new Map<string, Set<string>>();
    for (const o of referenceDefinition.phases.flatMap((p) => p.processors.flatMap((s) => s.outputs)))
      dateFields.set(o.collection, new Set([...(dateFields.get(o.collection) ?? []), o.partitionField]));
    const datesOf = (d: Difference): string[] => {
      const doc = JSON.parse(
        (d.kind === 'duplicate' ? chaosData : referenceData).get(d.collection)?.get(d.id) ?? '{}',
      ) as Record<string, unknown>;
      return [...(dateFields.get(d.collection) ?? [])]
        .map((f) => doc[f])
        .filter((v): v is string => typeof v === 'string');
    };
    // Short data makes its own date differ by design: that difference is the fault, not a loss.
    const counted = diffs.filter((d) => !shortDate || !datesOf(d).includes(shortDate));
    const stale = forced
      ? (
          await Promise.all(
            [...dateFields].flatMap(([collection, fields]) =>
              [...fields].map((field) =>
                chaos.store.countWhere(collection, [
                  { field, op: '==', value: forced.gameDate },
                  { field: 'runId', op: '==', value: forced.oldRunId },
                ]),
              ),
            ),
          )
        ).reduce((a, b) => a + b, 0)
      : 0;
    type Outcome = 'recovered' | 'person' | 'lost';
    // An entry of the date's current run (or of its run requests), not of a run it superseded.
    const ofCurrent = (q: { runId: string | null; partition: string | null }) =>
      q.runId === null || q.runId === current.get(q.partition ?? '')?.runId;
    const needsPerson = (d: string) =>
      queue.some((q) => q.partition === d && q.status === 'failed_permanent' && ofCurrent(q));
    const outcomeOf = (d: string): Outcome => {
      const run = current.get(d);
      const broken = counted.some((x) => datesOf(x).includes(d)) || (forced?.gameDate === d && stale > 0);
      if (run?.status === 'SUCCESS' && !broken) return 'recovered';
      return needsPerson(d) && !(run?.status === 'SUCCESS') ? 'person' : 'lost';
    };
    const outcomes = new Map(dates.map((d) => [d, outcomeOf(d)]));
    const settle = (kind: Kind, outcome: Outcome) => count(kind, outcome === 'person' ? 'person' : outcome);
    // Faults of one date are judged by that date; faults of any date (kills, duplicates, slow
    // handlers) by every date but the short one.
    const spread: Kind[] = ['slow handler', 'duplicate delivery', 'process kill'];
    for (const kind of spread)
      if ((tally.get(kind)?.injected ?? 0) > 0) for (const d of others) settle(kind, outcomes.get(d)!);
    const writeDates = new Set(
      writeFailed.flatMap((e) => (e.partition && e.partition !== shortDate ? [e.partition] : [])),
    );
    for (const d of writeDates) settle('write failure', outcomes.get(d)!);
    for (const f of sourceFaults) {
      if (f.label === 'short data' || !sourceInjected.get(f)) continue;
      for (const d of (f.dates ?? []).filter((x) => x !== shortDate)) settle(f.label, outcomes.get(d)!);
    }
    if (shortDate) {
      // It can only need a person: recovered would mean a gate passed short data, SUCCESS would be a lie.
      const run = current.get(shortDate);
      const entry = queue.find(
        (q) =>
          q.partition === shortDate && q.status === 'failed_permanent' && q.errorReason === 'gate_failed',
      );
      count('short data', run?.status !== 'SUCCESS' && entry ? 'person' : 'lost');
    }
    if (forced) {
      const old = allRuns.find((r) => r.runId === forced.oldRunId);
      count('forced second run', 'injected');
      count(
        'forced second run',
        old?.status === 'SUPERSEDED' && current.get(forced.gameDate)?.runId === forced.newRunId
          ? outcomes.get(forced.gameDate)!
          : 'lost',
      );
    }
    if (lateRequestId) {
      // Recovered: the recorder saw it (a dead_lettered event) and reopened nothing.
      const seen = (
        await chaos.store.query(COLLECTIONS.events, {
          filters: [{ field: 'requestId', op: '==', value: lateRequestId }],
        })
      ).some((e) => e.data.type === 'dead_lettered');
      const reopened = queue.some((q) => q.id === lateRequestId && q.status !== 'succeeded');
      count('late dead letter', seen && !reopened ? 'recovered' : 'lost');
    }
    if (relativeDate && relativeEntry) {
      const entry = queue.find((q) => q.id === relativeEntry);
      const rerun = allRuns.some(
        (r) =>
          r.partition === relativeDate &&
          r.triggerSource === 'scheduled' &&
          r.runId === current.get(relativeDate)?.runId,
      );
      count(
        'dead-lettered scheduled request',
        entry?.status === 'succeeded' && entry.partition === relativeDate && rerun
          ? outcomes.get(relativeDate)!
          : 'lost',
      );
    }
    const recordedPermanent = (ids: string[]) =>
      ids.filter((id) => queue.some((q) => q.id === `msg-${id}` && q.status === 'failed_permanent')).length;
    const messageFaults: [Kind, string[]][] = [
      ['poison message', poison],
      ['oversized poison', oversized],
      ['id with /', slashed],
    ];
    for (const [kind, ids] of messageFaults) {
      count(kind, 'person', recordedPermanent(ids));
      count(kind, 'lost', ids.length - recordedPermanent(ids));
    }
    const poisonRecorded = recordedPermanent(poison);
    const expectedEntries = new Set(messageFaults.flatMap(([, ids]) => ids.map((id) => `msg-${id}`)));
    const needPerson = queue.filter(
      (q) =>
        !expectedEntries.has(q.id) &&
        q.partition !== shortDate &&
        q.status === 'failed_permanent' &&
        ofCurrent(q),
    );
    const unexplained = dates.filter((d) => outcomes.get(d) === 'lost');
    const rows = [...tally]
      .sort(([a], [b]) => KINDS.indexOf(a) - KINDS.indexOf(b))
      .map(([kind, t]) => [kind, String(t.injected), String(t.recovered), String(t.person), String(t.lost)]);
    const byKind = (k: Difference['kind']) => counted.filter((d) => d.kind === k).length;
    const report = {
      seed: options.seed,
      dates,
      runs: Object.fromEntries(statuses),
      faults: Object.fromEntries(tally),
      restarts: Object.fromEntries(chaos.stack.restarts),
      documents: {
        compared: [...referenceData.values()].reduce((s, m) => s + m.size, 0),
        lost: byKind('lost'),
        duplicated: byKind('duplicate'),
        different: byKind('different'),
      },
      shortDate,
      forced: forced ? { ...forced, staleDocuments: stale } : null,
      controlDlq: held,
      differences: counted.slice(0, 50),
      needingAPerson: needPerson.map((q) => ({ id: q.id, lastError: q.lastError })),
      unexplainedDates: unexplained,
    };
    if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    say(
      `\n${table(['fault', 'injected', 'recovered automatically', 'needing a person', 'lost'], rows)}\n` +
        '(dates for faults of a date, or of every date; messages for message faults)',
    );
    say(
      `\ndocuments compared with the reference: ${report.documents.compared}; lost ${report.documents.lost}, ` +
        `duplicated ${report.documents.duplicated}, different ${report.documents.different}` +
        (shortDate ? ` (not counting ${shortDate}, short by design)` : ''),
    );
    say(
      `poison messages recorded as failed_permanent: ${poisonRecorded}/${poison.length}; function restarts: ` +
        `${JSON.stringify(report.restarts)}`,
    );
    say(`control-dlq: ${describeHeld(held)}`);
    for (const d of counted.slice(0, 20)) say(`  ${d.kind}: ${d.collection}/${d.id}`);
    for (const q of needPerson) say(`  needs a person: ${q.id}: ${q.lastError}`);
    if (unexplained.length)
      say(
        `  dates neither SUCCESS with the reference's data nor explained by a queue entry: ${unexplained.join(', ')}`,
      );
    const lost = [...tally.values()].reduce((a, t) => a + t.lost, 0);
    const failed =
      lost > 0 || counted.length > 0 || needPerson.length > 0 || held.count > 0 || unexplained.length > 0;
    say(
      failed
        ? '\nFAILED: something was lost, duplicated, changed or left unexplained'
        : `\nOK: lost 0; every date SUCCESS with the reference's ` +
            `data${shortDate ? ` but ${shortDate} (short data: NEEDS MANUAL FIX)` : ''}; every poison message ` +
            `failed_permanent; control-dlq empty`,
    );
    exitCode = failed ? 1 : 0;
  } finally {
    running = false;
    scheduler.stop();
    await chaos.stop();
  }
} catch (error) {
  process.stderr.write(`chaos: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  exitCode = 2;
} finally {
  await emulators.stop();
}
process.exit(exitCode);
