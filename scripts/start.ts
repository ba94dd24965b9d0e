// `npm start`: the whole pipeline on this machine. Emulators, the source API, every function
// in its own functions-framework process, topics and push subscriptions from the definition,
// then a demo run. Ctrl-C (or SIGTERM) stops everything it started.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createFirestore, createFirestoreStore } from '../shared/adapters/firestore-store.ts';
import { TOPICS } from '../shared/messages/messages.ts';
import { referenceDefinition } from '../functions/pipeline/definition.ts';
import { startEmulators, defaultPorts, EmulatorsMissingError, type Emulators } from './lib/emulators.ts';
import { startStack, type Stack } from './lib/stack.ts';
import { findRunByMessage, summaryLine, watchRun } from './lib/watch-run.ts';
import { loadCsvDataset } from './source-api/dataset.ts';
import { startSourceApi, type SourceApi } from './source-api/server.ts';
import { preferredOrFreePort } from './lib/ports.ts';

// No metadata server on a laptop: keep the Google auth library from probing for one.
process.env.METADATA_SERVER_DETECTION ??= 'none';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    demo: { type: 'boolean', default: true },
    'no-demo': { type: 'boolean', default: false },
    dates: { type: 'string', default: '2024-04-20,2024-04-21' },
    project: { type: 'string', default: process.env.GOOGLE_CLOUD_PROJECT ?? 'phasegate-local' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(`npm start [-- --no-demo] [-- --dates 2024-04-20,2024-04-21] [-- --project ID]
  Starts the emulators, the source API and every function, provisions topics and subscriptions,
  then runs the demo dates through the pipeline. Ctrl-C stops everything.`);
  process.exit(0);
}

const say = (line: string) => process.stdout.write(`${line}\n`);
let emulators: Emulators | undefined;
let source: SourceApi | undefined;
let stack: Stack | undefined;
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('\nstopping: functions, source API, emulators...');
    await stack?.stop().catch(() => undefined);
    await source?.close().catch(() => undefined);
    await emulators?.stop().catch(() => undefined);
    say('stopped; nothing left running.');
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

async function main(): Promise<void> {
  const logDir = join(root, '.phasegate', 'logs');
  say('phasegate: starting the local stack');
  emulators = await startEmulators({ logDir, preferredPorts: defaultPorts(join(root, 'firebase.json')) });
  say(`  pubsub emulator            ${emulators.pubsub.host}${emulators.pubsub.process ? ` (pid ${emulators.pubsub.process.pid})` : ' (reused)'}`);
  say(`  firestore emulator         ${emulators.firestore.host}${emulators.firestore.process ? ` (pid ${emulators.firestore.process.pid})` : ' (reused)'}`);
  source = await startSourceApi({ dataset: loadCsvDataset(), port: await preferredOrFreePort(8090) });
  say(`  source API                 ${source.url} (faults: ${source.url}/admin/faults)`);
  stack = await startStack({
    definition: referenceDefinition,
    functionsSource: join(root, 'functions', 'index.ts'),
    projectId: args.project,
    emulators,
    logDir,
    functionEnv: () => ({ SOURCE_API_URL: source!.url }),
    echo: (name, line) => {
      if (/restarting|restart failed/.test(line)) say(`  ! ${name}: ${line}`);
    },
  });
  for (const fn of stack.functions.values()) say(`  ${fn.name.padEnd(26)} ${fn.url} (pid ${fn.process.pid})`);
  say(`  project ${args.project}; ${stack.plan.topics.length} topics, ${stack.plan.subscriptions.length} subscriptions; logs in ${logDir}`);

  if (args.demo && !args['no-demo']) {
    process.env.FIRESTORE_EMULATOR_HOST = emulators.firestore.host;
    const store = createFirestoreStore(createFirestore(args.project));
    for (const gameDate of args.dates.split(',').map((d) => d.trim()).filter(Boolean)) {
      const messageId = await stack.pubsub.topic(TOPICS.runRequests).publishMessage({ json: { gameDate, triggerSource: 'manual', requestedBy: 'npm start demo' } });
      const started = await findRunByMessage(store, messageId);
      if (!started) {
        say(`demo: no run was created for ${gameDate} (see ${logDir}/orchestrator-runs.log)`);
        continue;
      }
      say(`\ndemo: run ${started.runId} for ${gameDate}`);
      const run = await watchRun(store, started.runId, { timeoutMs: 120_000, onChange: (r, lines) => say(`  ${summaryLine(r, lines)}`) });
      if (run?.lastError) say(`  lastError: ${run.lastError}`);
    }
  }
  say(`\nready. Start a run: publish {"gameDate":"YYYY-MM-DD","triggerSource":"manual"} to ${TOPICS.runRequests}; Ctrl-C stops everything.`);
}

main().catch(async (error: unknown) => {
  process.stderr.write(`${error instanceof EmulatorsMissingError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  await shutdown(1);
});
