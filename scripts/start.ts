// `npm start`: a whole pipeline on this machine (the project's first, or `--pipeline <name>`).
// Emulators, the pipeline's local services (the reference pipeline's source API), every function
// in its own functions-framework process, topics and push subscriptions from the definition,
// then its demo runs. Ctrl-C (or SIGTERM) stops everything it started.
import { parseArgs } from 'node:util';
import { TOPICS } from '../shared/messages/messages.ts';
import { PartitionError } from '../shared/definition/partition.ts';
import { EmulatorsMissingError } from './lib/emulators.ts';
import { FunctionsStartError } from './lib/functions.ts';
import { startLocalPipeline, type LocalPipeline } from './lib/local-pipeline.ts';
import { FINAL_STATUSES, summaryLine } from './lib/watch-run.ts';
import {
  findProject,
  loadPipeline,
  PipelineModuleError,
  type LoadedPipeline,
} from './lib/pipeline-module.ts';
import { localJobs } from './lib/local-scheduler.ts';

function parseOptions() {
  try {
    return parseArgs({
      options: {
        pipeline: { type: 'string' },
        'no-demo': { type: 'boolean', default: false },
        'exit-after-demo': { type: 'boolean', default: false },
        iam: { type: 'boolean', default: false },
        partitions: { type: 'string' },
        project: { type: 'string', default: process.env.GOOGLE_CLOUD_PROJECT ?? 'phasegate-local' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    // An option it does not know (`--dates`, now `--partitions`), said plainly.
    process.stderr.write(
      `npm start: ${error instanceof Error ? error.message : String(error)}; see npm start -- --help\n`,
    );
    process.exit(2);
  }
}
const args = parseOptions();
if (args.help) {
  console.log(`npm start [-- --pipeline NAME] [-- --no-demo] [-- --exit-after-demo] [-- --iam] [-- --partitions A,B] [-- --project ID]
  Starts the emulators, the pipeline's local services and every function, provisions topics and
  subscriptions, then runs the demo partitions through the pipeline. Ctrl-C stops everything.
  --exit-after-demo  stop everything once the demo's runs are final, instead of staying up: exit 0 when
                     every demo run ended, 1 when one was not created or did not end in time
  --pipeline    one of package.json's phasegate.pipelines (default: the first; here: reference)
  --partitions  the demo partitions instead of the pipeline's own (comma-separated)
  --iam  production's request path: a local Cloud Run IAM front end before every function, push
         tokens minted as Pub/Sub would, functions in the auth mode deploy sets.`);
  process.exit(0);
}

const say = (line: string) => process.stdout.write(`${line}\n`);
let pipeline: LocalPipeline | undefined;
let starting: Promise<LocalPipeline> | undefined;
const startup = new AbortController();
let stopping = false;

/** Stops everything it started, also while it is still starting (the start unwinds what it has). */
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('\nstopping: functions, local services, emulators...');
  startup.abort();
  const started = await starting?.catch(() => undefined);
  await (pipeline ?? started)?.stop();
  say('stopped; nothing left running.');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

async function main(): Promise<void> {
  const loaded: LoadedPipeline = await loadPipeline(findProject(), args.pipeline);
  const demo = args.partitions
    ? args.partitions
        .split(',')
        .map((d) => d.trim())
        .filter(Boolean)
    : (loaded.local?.demo ?? []);
  // A demo partition the scheme refuses is said before anything starts.
  for (const partition of demo) loaded.pipeline.definition.scheme.parse(partition);
  say(`phasegate: starting the local stack of pipeline ${loaded.name}`);
  starting = startLocalPipeline({
    loaded,
    projectId: args.project,
    iam: args.iam,
    warmStart: true,
    signal: startup.signal,
    echo: (name, line) => {
      if (/restarting|restart failed/.test(line)) say(`  ! ${name}: ${line}`);
    },
  });
  pipeline = await starting;
  const { emulators, services, stack } = pipeline;
  const pid = (p: { pid: number } | undefined) => (p ? `(pid ${p.pid})` : '(reused)');
  say(`  ${'pubsub emulator'.padEnd(26)} ${emulators.pubsub.host} ${pid(emulators.pubsub.process)}`);
  say(`  ${'firestore emulator'.padEnd(26)} ${emulators.firestore.host} ${pid(emulators.firestore.process)}`);
  for (const line of services?.describe ?? []) say(`  ${line}`);
  for (const fn of stack.functions.values()) say(`  ${fn.name.padEnd(26)} ${fn.url} ${pid(fn.process)}`);
  if (stack.frontEnd) {
    say(
      `  ${'Cloud Run IAM (local)'.padEnd(26)} ${stack.frontEnd.url}/<function>: every push gets a token, IAM ` +
        `checks it and strips its signature`,
    );
  }
  say(
    `  project ${args.project}; ${stack.plan.topics.length} topics, ${stack.plan.subscriptions.length} subscriptions; ` +
      `logs in ${pipeline.logDir}`,
  );
  for (const job of localJobs(loaded.pipeline.definition))
    say(`  scheduler: ${job.name.padEnd(13)} every ${job.everySeconds} s -> ${job.topic}`);
  say(
    `\n  dashboard: ${stack.dashboardUrl}/${stack.dashboardAs ? ` (as ${stack.dashboardAs}, like gcloud run services proxy)` : ''}`,
  );
  say('  command line: npx phasegate --help (talks to this stack while it runs)');

  let unfinished = 0;
  if (!args['no-demo']) {
    for (const partition of demo) {
      if (stopping) return;
      say(`\ndemo: run for ${partition}`);
      const run = await pipeline.run(
        { partition, triggerSource: 'manual', requestedBy: 'npm start demo' },
        (r, lines) => say(`  ${summaryLine(r, lines)}`),
      );
      if (!run) say(`  no run was created (see ${pipeline.logDir}/orchestrator-runs.log)`);
      else if (run.lastError) say(`  lastError: ${run.lastError}`);
      if (!run || !FINAL_STATUSES.has(run.status)) unfinished++;
    }
  }
  const refused = stack.frontEnd?.refusals ?? [];
  if (refused.length)
    say(
      `\n  ! Cloud Run IAM (local) refused ${refused.length} request(s), the last: ${refused.at(-1)!.function}: ${refused.at(-1)!.reason}`,
    );
  if (args['exit-after-demo']) {
    say(`\ndemo done${unfinished ? `: ${unfinished} run(s) did not end` : ''}.`);
    await shutdown(unfinished ? 1 : 0);
    return;
  }
  // The last line of a start: scripts (the benchmark) wait for it.
  say(
    `\nready. Start a run: publish {"partition":"${loaded.local?.demo[0] ?? loaded.pipeline.definition.scheme.describe}",` +
      `"triggerSource":"manual"} to ${TOPICS.runRequests}; Ctrl-C stops everything.`,
  );
}

main().catch(async (error: unknown) => {
  // Stopped by Ctrl-C while starting: shutdown is already at work.
  if (stopping) return;
  // What a person can act on is the message; a stack trace only for the unexpected.
  const expected =
    error instanceof EmulatorsMissingError ||
    error instanceof FunctionsStartError ||
    error instanceof PipelineModuleError ||
    error instanceof PartitionError;
  process.stderr.write(
    `${expected ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  await shutdown(1);
});
