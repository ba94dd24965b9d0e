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
  .parse();
const options = program.opts<{ dates: number; seed: number; json?: boolean }>();
const say = (line: string) => {
  if (!options.json) process.stdout.write(`${line}\n`);
};
const logDir = join(repoRoot, '.phasegate', 'logs', 'chaos');
const RUN_TIMEOUT_MS = 8 * 60_000;
const QUIET_TIMEOUT_MS = 6 * 60_000;

type Kind =
  | 'write failure'
  | 'slow handler'
  | 'duplicate delivery'
  | 'process kill'
  | 'source 429'
  | 'source 5xx'
  | 'source timeout'
  | 'poison message';
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
    Object.assign(phase.subscription, { ackDeadlineSeconds: 12, minBackoffSeconds: 1, maxBackoffSeconds: 10 });
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

/** Publishes each date's run request in order and waits for the run to be final. */
async function runDates(p: Pipeline, dates: readonly string[]): Promise<Map<string, string>> {
  const statuses = new Map<string, string>();
  const topic = p.stack.pubsub.topic(TOPICS.runRequests, { batching: { maxMessages: 1, maxMilliseconds: 0 } });
  for (const gameDate of dates) {
    const messageId = await topic.publishMessage({
      json: { gameDate, triggerSource: 'backfill', requestedBy: 'chaos' },
    });
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    let status = 'NO_RUN';
    while (Date.now() < deadline) {
      const [run] = await p.store.query(COLLECTIONS.runs, {
        filters: [{ field: 'requestMessageId', op: '==', value: messageId }],
        limit: 1,
      });
      status = (run?.data.status as string | undefined) ?? 'NO_RUN';
      if (FINAL_STATUSES.has(status)) break;
      await sleep(250);
    }
    statuses.set(gameDate, status);
    say(`  ${gameDate}  ${status}`);
  }
  return statuses;
}

const random = seededRandom(options.seed);
const sourcePort = await freePort();
process.env.METADATA_SERVER_DETECTION ??= 'none';
const dataset = loadCsvDataset();
const dates = pickDates(dataset, options.dates, random);
const outputs = [
  ...new Set(
    referenceDefinition.phases.flatMap((p) => p.processors.flatMap((s) => s.outputs.map((o) => o.collection))),
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
      return { label: 'source 429', endpoint, kind, dates: [date], times: random.int(1, 3), retryAfterSeconds: 1 };
    if (kind === 'server_error')
      return {
        label: 'source 5xx',
        endpoint,
        kind,
        dates: [date],
        times: random.int(1, 3),
        status: random.pick([500, 502, 503]),
      };
    return { label: 'source timeout', endpoint, kind, dates: [date], times: 1, delayMs: SOURCE_TIMEOUT_DELAY_MS };
  },
);
const kills = Math.max(2, Math.ceil(n / 3));
const poisonCount = 2 + Math.floor(n / 10);

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

const emulators = await startEmulators({ logDir, preferredPorts: defaultPorts(join(repoRoot, 'firebase.json')) });
let exitCode = 0;
try {
  say('\nreference run (no faults)');
  const reference = await startPipeline(emulators, dataset, 'reference', referenceDefinition, () => ({}), []);
  let referenceData: Map<string, Map<string, string>>;
  try {
    const statuses = await runDates(reference, dates);
    const bad = [...statuses].filter(([, s]) => s !== 'SUCCESS');
    if (bad.length)
      throw new Error(`the fault-free reference run did not succeed: ${bad.map(([d, s]) => `${d} ${s}`).join(', ')}`);
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
          data: Buffer.from(JSON.stringify({ gameDate: 'yesterday-ish', triggerSource: 'manual' })),
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
    const statuses = await runDates(chaos, dates);
    running = false;
    await monkey;

    // Quiet: nothing left to retry (the scheduler's ticks finish what the runs left), every run final.
    const deadline = Date.now() + QUIET_TIMEOUT_MS;
    for (;;) {
      const open = (
        await chaos.store.query(COLLECTIONS.queue, {
          filters: [{ field: 'status', op: 'in', value: ['pending', 'retrying', 'waiting'] }],
        })
      ).length;
      const runs = (
        await chaos.store.query(COLLECTIONS.runs, { filters: [{ field: 'status', op: '==', value: 'RUNNING' }] })
      ).length;
      if ((open === 0 && runs === 0) || Date.now() > deadline) break;
      await sleep(2000);
    }
    const runs = (await chaos.store.query(COLLECTIONS.runs, {})).map(
      (d) => d.data as { gameDate: string; status: string; runId: string },
    );
    const queue = (await chaos.store.query(COLLECTIONS.queue, {})).map((d) => ({
      id: d.id,
      ...(d.data as { status: string; lastError: string; runId: string | null; gameDate: string | null }),
    }));
    const events = (
      await chaos.store.query(COLLECTIONS.events, { filters: [{ field: 'type', op: '==', value: 'processor_failed' }] })
    ).map((d) => d.data as { message?: string; gameDate?: string });

    // --- what was injected, as the system saw it
    count('write failure', 'injected', events.filter((e) => e.message?.includes('injected write failure')).length);
    count('slow handler', 'injected', slowHandlers.length);
    count('duplicate delivery', 'injected', duplicating.length);
    const left = chaos.source.faults.list();
    for (const f of sourceFaults) {
      const remaining =
        left.find(
          (l) => l.endpoint === f.endpoint && l.kind === f.kind && JSON.stringify(l.dates) === JSON.stringify(f.dates),
        )?.times ?? 0;
      count(f.label, 'injected', (f.times ?? 1) - remaining);
    }

    // --- the verdict
    const chaosData = await snapshotCollections(chaos.db, outputs);
    const diffs = compareSnapshots(referenceData, chaosData);
    const poisonIds = new Set(poison.map((id) => `msg-${id}`));
    const poisonRecorded = queue.filter((q) => poisonIds.has(q.id) && q.status === 'failed_permanent').length;
    count('poison message', 'person', poisonRecorded);
    count('poison message', 'lost', poison.length - poisonRecorded);
    const needPerson = queue.filter((q) => !poisonIds.has(q.id) && q.status === 'failed_permanent');
    const unexplained = dates.filter(
      (d) =>
        !runs.some((r) => r.gameDate === d && r.status === 'SUCCESS') &&
        !queue.some((q) => q.gameDate === d && q.status !== 'succeeded'),
    );
    for (const kind of tally.keys()) {
      if (kind === 'poison message') continue;
      const t = tally.get(kind)!;
      // Faults are spread over every date; a difference anywhere counts against each kind that was injected.
      t.lost = t.injected > 0 ? diffs.filter((d) => d.kind === 'lost').length : 0;
      t.person = needPerson.length;
      t.recovered = diffs.length === 0 && needPerson.length === 0 ? t.injected : 0;
    }
    const rows = [...tally].map(([kind, t]) => [
      kind,
      String(t.injected),
      String(t.recovered),
      String(t.person),
      String(t.lost),
    ]);
    const byKind = (k: Difference['kind']) => diffs.filter((d) => d.kind === k).length;
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
      differences: diffs.slice(0, 50),
      needingAPerson: needPerson.map((q) => ({ id: q.id, lastError: q.lastError })),
      unexplainedDates: unexplained,
    };
    if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    say(`\n${table(['fault', 'injected', 'recovered automatically', 'needing a person', 'lost'], rows)}`);
    say(
      `\ndocuments compared with the reference: ${report.documents.compared}; lost ${report.documents.lost}, ` +
        `duplicated ${report.documents.duplicated}, different ${report.documents.different}`,
    );
    say(
      `poison messages recorded as failed_permanent: ${poisonRecorded}/${poison.length}; function restarts: ` +
        `${JSON.stringify(report.restarts)}`,
    );
    for (const d of diffs.slice(0, 20)) say(`  ${d.kind}: ${d.collection}/${d.id}`);
    for (const q of needPerson) say(`  needs a person: ${q.id}: ${q.lastError}`);
    if (unexplained.length) say(`  dates neither SUCCESS nor explained by a queue entry: ${unexplained.join(', ')}`);
    const failed =
      diffs.length > 0 || poisonRecorded < poison.length || unexplained.length > 0 || needPerson.length > 0;
    say(
      failed
        ? '\nFAILED: something was lost, duplicated, changed or left unexplained'
        : '\nOK: nothing lost, nothing duplicated, every run SUCCESS, every poison message failed_permanent',
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
