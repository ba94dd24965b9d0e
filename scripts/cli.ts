// `phasegate`: the command line (package.json bin; `npx phasegate --help`).
import { Command, CommanderError } from 'commander';
import { TOPICS, type RunRequest } from '../shared/messages/messages.ts';
import { connect, type Connection } from './lib/connection.ts';
import {
  findProject,
  loadPipeline,
  PipelineModuleError,
  type LoadedPipeline,
  type PipelineProject,
} from './lib/pipeline-module.ts';
import { readStackFile, StackFileError, talksToStack } from './lib/connection.ts';
import { publishRunAndWait, summaryLine } from './lib/watch-run.ts';
import type { CliContext } from './cli/context.ts';
import { UsageError } from './cli/usage-error.ts';
import { registerControlCommands } from './cli/control-commands.ts';
import { registerQueueCommands } from './cli/queue-commands.ts';
import { checkPartitionOptions, parsePartition } from './cli/option-parsers.ts';
import { registerStatusCommands } from './cli/status-commands.ts';
import { registerHealthCommand } from './cli/health-command.ts';
import { registerRangeCommands } from './cli/range-commands.ts';
import { registerValidateCommand } from './cli/validate-command.ts';
import { registerDeployCommand } from './cli/deploy-command.ts';
import { QueueActionError } from '../shared/recovery/queue-actions.ts';
import { BulkInterruptedError } from '../shared/recovery/queue-bulk.ts';
import { describeInterrupted } from './cli/queue-bulk-command.ts';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import { ScaffoldError, writeScaffold } from './init/scaffold.ts';
import { SCAFFOLD_SCHEMES, type ScaffoldScheme } from './init/schemes.ts';
import { readPause } from '../shared/orchestration/pause-state.ts';

function parseScheme(value: string): ScaffoldScheme {
  if (!(SCAFFOLD_SCHEMES as readonly string[]).includes(value))
    throw new InvalidArgumentError(
      `"${value}" is not a scheme init makes; use one of ${SCAFFOLD_SCHEMES.join(', ')} (a custom scheme is written by hand: README)`,
    );
  return value as ScaffoldScheme;
}

// `phasegate ... | head` closes the pipe early: stop quietly, as other command-line tools do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

function findProjectOrKit(): PipelineProject {
  try {
    return findProject();
  } catch (error) {
    if (error instanceof PipelineModuleError && error.message.startsWith('no phasegate project here'))
      return findProject(fileURLToPath(new URL('..', import.meta.url)));
    throw error;
  }
}

let connection: Connection | undefined;
let project: PipelineProject | undefined;
let loaded: Promise<LoadedPipeline> | undefined;
const context: CliContext = {
  // Outside any project (a shell elsewhere), this checkout's own: its reference pipeline, its local stack.
  project: () => (project ??= findProjectOrKit()),
  connection: () =>
    Promise.resolve(
      (connection ??= connect(
        context.project().root,
        process.env,
        program.opts<{ project?: string }>().project,
      )),
    ),
  // --pipeline, else the pipeline of the local stack when that is what the command talks to, else the first.
  pipeline: () => {
    const { pipeline, project: projectId } = program.opts<{ pipeline?: string; project?: string }>();
    const { root } = context.project();
    // Once connected, the connection knows (connecting to the stack changes the environment).
    const stack = connection
      ? connection.stackPipeline
      : talksToStack(root, process.env, projectId)
        ? readStackFile(root)?.pipeline
        : undefined;
    return (loaded ??= loadPipeline(context.project(), pipeline ?? stack));
  },
  print: (text) => process.stdout.write(`${text}\n`),
};

const program = new Command('phasegate')
  .description('run and recover phasegate pipelines')
  .option(
    '--project <id>',
    'project to talk to (default: GOOGLE_CLOUD_PROJECT, else the local stack of `npm start`)',
  )
  .option(
    '--pipeline <name>',
    "the pipeline, as package.json's phasegate.pipelines names it (default: the local stack's, else the first)",
  )
  .showHelpAfterError()
  .exitOverride()
  // Partition options are checked against the pipeline's own scheme before any command runs.
  // (init's --partition names a scheme, and init runs outside any project.)
  .hook('preAction', (_program, action) =>
    action.name() === 'init' ? undefined : checkPartitionOptions(context, action.opts()),
  );

program
  .command('trigger')
  .description('start a run for a partition (publishes a RunRequest to run-requests)')
  .requiredOption(
    '--partition <partition>',
    "the partition to run, a key of the pipeline's scheme (the reference pipeline: a day, YYYY-MM-DD)",
    parsePartition,
  )
  .option('--start-phase <phase>', 'start from this phase')
  .option('--processors <names>', 'only these processors of the start phase (comma-separated)')
  .option('--force', 'start even if a run for the date is RUNNING')
  .option('--wait', 'wait for the run to finish and show its progress')
  .option('--json', 'JSON output for scripts')
  .action(
    async (options: {
      partition: string;
      startPhase?: string;
      processors?: string;
      force?: boolean;
      wait?: boolean;
      json?: boolean;
    }) => {
      const c = await context.connection();
      const request: RunRequest = {
        partition: options.partition,
        triggerSource: 'manual',
        requestedBy: 'phasegate cli',
      };
      if (options.startPhase) request.startPhase = options.startPhase;
      if (options.processors)
        request.processors = options.processors
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean);
      if (options.force) request.force = true;
      // Paused: the orchestrator holds the request; nothing would start to wait for.
      const pause = await readPause(c.store);
      if (pause.paused) {
        const messageId = await c.publisher.publish(TOPICS.runRequests, request);
        if (options.json) return context.print(JSON.stringify({ messageId, runId: null, status: 'HELD' }));
        return context.print(
          `run request ${messageId} published and held: the pipeline is paused (since ${pause.since ?? '?'} ` +
            `by ${pause.by ?? '?'}: ${pause.note ?? ''}); \`phasegate resume --note …\` releases it`,
        );
      }
      // Without --wait, only until the run exists (30 s at most).
      const { messageId, run } = await publishRunAndWait(c, request, {
        findTimeoutMs: 30_000,
        timeoutMs: options.wait ? 630_000 : 30_000,
        until: options.wait ? undefined : () => true,
        onChange:
          options.wait && !options.json ? (r, lines) => context.print(summaryLine(r, lines)) : undefined,
      });
      if (!options.wait) {
        if (options.json)
          return context.print(
            JSON.stringify({ messageId, runId: run?.runId ?? null, status: run?.status ?? null }),
          );
        return context.print(
          run
            ? `run ${run.runId} started for ${options.partition}`
            : `run request ${messageId} published; no run yet (is another run RUNNING for ${options.partition}? see ` +
                `\`phasegate queue list\` and the orchestrator log)`,
        );
      }
      if (!run)
        throw new UsageError(
          `no run was created for ${options.partition} within 30 s (a run may already be RUNNING for the partition: add --force)`,
        );
      const final = run;
      if (options.json) context.print(JSON.stringify(final));
      else if (final?.lastError) context.print(`lastError: ${final.lastError}`);
      if (final?.status !== 'SUCCESS') process.exitCode = 1;
    },
  );

program
  .command('init')
  .description('make a new pipeline project in <dir>: a two-phase example, its tests and its two commands')
  .argument('<dir>', 'an empty or new folder')
  .option(
    '--partition <scheme>',
    `the partition scheme: ${SCAFFOLD_SCHEMES.join(', ')}`,
    parseScheme,
    'daily',
  )
  .action((dir: string, options: { partition: ScaffoldScheme }) => {
    const files = writeScaffold(dir, options.partition);
    context.print(`made ${resolve(dir)} (${options.partition} partitions): ${files.join(', ')}`);
    context.print(`next: cd ${dir} && npm install && npm test, then npm start`);
  });

program
  .command('start')
  .description(
    'run the pipeline on this machine (what `npm start` runs): emulators, functions, scheduler, demo',
  )
  .helpOption(false)
  .allowUnknownOption()
  .allowExcessArguments()
  .action(async () => {
    // scripts/start.ts reads its own options (`phasegate start --help`) and runs until Ctrl-C.
    process.argv.splice(process.argv.indexOf('start'), 1);
    await import('./start.ts');
  });

registerQueueCommands(program, context);
registerControlCommands(program, context);
registerStatusCommands(program, context);
registerHealthCommand(program, context);
registerRangeCommands(program, context);
registerValidateCommand(program, context);
registerDeployCommand(program, context);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed its own message (unknown command, bad option value...).
    process.exitCode = error.exitCode;
  } else if (error instanceof BulkInterruptedError) {
    process.stderr.write(describeInterrupted(error));
    process.exitCode = 1;
  } else if (
    error instanceof UsageError ||
    error instanceof QueueActionError ||
    error instanceof PipelineModuleError ||
    error instanceof ScaffoldError ||
    error instanceof StackFileError ||
    (error instanceof Error && /^no project to talk to/.test(error.message))
  ) {
    process.stderr.write(`phasegate: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(
      `phasegate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  }
} finally {
  await connection?.close();
}
