import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { declaredIndexesPath, readIndexesFile } from '../../shared/adapters/declared-indexes.ts';
import { createPubSub } from '../../shared/adapters/pubsub-publisher.ts';
import { createHeldPeek } from '../../shared/adapters/pubsub-held.ts';
import { CONTROL_DLQ_SUBSCRIPTION } from '../../shared/messages/messages.ts';
import { DefinitionError, loadDefinition, type LoadedDefinition } from '../../shared/definition/load.ts';
import { gcloudPlan, renderShell } from '../../infra/deploy/gcloud.ts';
import { PROJECT_NUMBER_PLACEHOLDER, type DeployTarget } from '../../infra/deploy/target.ts';
import { terraformPlan } from '../../infra/deploy/terraform.ts';
import { planResources } from '../../infra/plan.ts';
import { formatDrifts, type Drift } from '../../infra/validate/drift.ts';
import {
  auditLive,
  parseInvokers,
  parseSchedulerJobs,
  readPubSub,
  type LiveInvokers,
} from '../../infra/validate/live-audit.ts';
import { staticAudit } from '../lib/audit.ts';
import { runCommand, runDeployPlan } from '../lib/deploy-runner.ts';
import { repoRoot } from '../lib/local-pipeline.ts';
import type { LoadedPipeline } from '../lib/pipeline-module.ts';
import { buildProjectEntry } from '../lib/function-build.ts';
import type { CliContext } from './context.ts';
import { UsageError } from './usage-error.ts';

/**
 * Not for `--env`: the project and authentication deploy sets, what Cloud Run sets, and fault
 * injection (tests only: it must never reach a deployed function).
 */
const RESERVED_ENV =
  /^(GOOGLE_CLOUD_PROJECT|PHASEGATE_AUTH|PHASEGATE_PUSH_.*|PHASEGATE_FAULTS|DASHBOARD_.*|K_.*|PORT|FUNCTION_.*)$/;

export function parseEnvPair(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(value);
  if (!match)
    throw new InvalidArgumentError(
      `"${value}" is not NAME=value (NAME in capitals, e.g. SOURCE_API_URL=https://stats.example.com)`,
    );
  if (RESERVED_ENV.test(match[1]!))
    throw new InvalidArgumentError(
      `${match[1]} is set by deploy or Cloud Run (project, authentication), or is for tests only (fault ` +
        `injection): it cannot be given with --env`,
    );
  return { ...previous, [match[1]!]: match[2]! };
}

/** A reader is any IAM member Cloud Run can admit: `user:`, `group:`, `domain:`, `serviceAccount:`. */
export function parseReader(value: string, previous: string[] = []): string[] {
  if (!/^(user|group|serviceAccount|domain):\S+$/.test(value))
    throw new InvalidArgumentError(
      `"${value}" is not an IAM member such as user:you@example.com, group:data@example.com or domain:example.com`,
    );
  return [...previous, value];
}

/**
 * An actor is one account: the dashboard sees the caller's email in its token, never the groups
 * or domain it belongs to, so a group or domain actor could never act.
 */
export function parseActor(value: string, previous: string[] = []): string[] {
  const match = /^(user|group|serviceAccount|domain):(\S+)$/.exec(value);
  if (!match)
    throw new InvalidArgumentError(
      `"${value}" is not an IAM member such as user:oncall@example.com or serviceAccount:bot@project.iam.gserviceaccount.com`,
    );
  if (match[1] === 'group' || match[1] === 'domain') {
    throw new InvalidArgumentError(
      `"${value}": an actor must be a user: or serviceAccount: (an ID token names one account, not its ${match[1]}); ` +
        `give the ${match[1]} read with --dashboard-reader and each person who may act with --dashboard-actor user:...`,
    );
  }
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(match[2]!))
    throw new InvalidArgumentError(`"${value}" does not name an email address`);
  return [...previous, value];
}

/** `--definition file.json` audits or deploys that definition instead of the pipeline's own. */
function definitionFrom(file: string | undefined, loaded: LoadedPipeline): LoadedDefinition {
  if (!file) return loaded.pipeline.definition;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(
      `cannot read the definition ${file}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  try {
    return loadDefinition(raw);
  } catch (error) {
    if (error instanceof DefinitionError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
}

function report(context: CliContext, title: string, drifts: readonly Drift[]): void {
  if (drifts.length === 0) context.print(`${title}: no drift`);
  else
    context.print(
      `${title}: ${drifts.length} drift${drifts.length === 1 ? '' : 's'}\n${formatDrifts(drifts)}`,
    );
}

interface DeployOptions {
  region: string;
  projectNumber?: string;
  env?: Record<string, string>;
  dashboardReader?: string[];
  dashboardActor?: string[];
  dryRun?: boolean;
  out: string;
  runtime: string;
  definition?: string;
}

/** Where `npm run build` puts the compiled entry module of a pipeline of this checkout. */
const distEntry = (loaded: LoadedPipeline): string =>
  join('dist', relative(repoRoot, loaded.entry)).replace(/\.ts$/, '.js').split(sep).join('/');

export const hasCompiledOutput = (loaded: LoadedPipeline): boolean =>
  existsSync(join(repoRoot, distEntry(loaded)));

/**
 * What each function's source upload needs: the compiled output, the lock file, and a
 * package.json whose `main` is the compiled entry module and with no scripts (the buildpack
 * would otherwise run `build`, which needs the TypeScript sources).
 */
export function stageSource(dir: string, loaded: LoadedPipeline): void {
  if (!hasCompiledOutput(loaded))
    throw new UsageError(`no compiled output in dist/ (${distEntry(loaded)}): run \`npm run build\` first`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // The compiler's incremental state is not part of what runs.
  const isOutput = (path: string) => !path.endsWith('.tsbuildinfo');
  cpSync(join(repoRoot, 'dist'), join(dir, 'dist'), { recursive: true, filter: isOutput });
  cpSync(join(repoRoot, 'package-lock.json'), join(dir, 'package-lock.json'));
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ ...manifest, main: distEntry(loaded), scripts: {}, bin: undefined }, null, 2)}\n`,
  );
}

/**
 * The source upload of a pipeline of another project (`phasegate init`'s): its functions' bundle
 * (the kit inlined, as the local stack runs it) and a package.json whose dependencies are the
 * kit's own, which the bundle imports and Cloud Build installs. No lock file: the kit's lists
 * its development tools too.
 */
export async function stageProjectSource(dir: string, loaded: LoadedPipeline): Promise<void> {
  const built = await buildProjectEntry(loaded.root, loaded.entry);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(built.dir, join(dir, 'dist'), { recursive: true });
  const kit = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    engines?: unknown;
    dependencies?: Record<string, string>;
  };
  const project = JSON.parse(readFileSync(join(loaded.root, 'package.json'), 'utf8')) as { name?: string };
  const manifest = {
    name: project.name ?? loaded.name,
    private: true,
    type: 'module',
    engines: kit.engines,
    main: join('dist', relative(built.dir, built.compiled)).split(sep).join('/'),
    dependencies: kit.dependencies,
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

async function buildOutput(): Promise<void> {
  const built = await runCommand(['npm', 'run', '--silent', 'build'], { cwd: repoRoot });
  if (built.code !== 0)
    throw new UsageError(
      `npm run build failed: fix the compile errors first\n${built.stdout}${built.stderr}`,
    );
}

export function registerInfraCommands(program: Command, context: CliContext): void {
  program
    .command('validate')
    .description(
      'audit the definition, registry, entry points, infra plan, indexes and README (static); with --live, also what exists',
    )
    .option(
      '--live',
      'also audit the topics, subscriptions and scheduler jobs that exist (the local stack, the emulators of ' +
        'GOOGLE_CLOUD_PROJECT, or a real project)',
    )
    .option(
      '--region <region>',
      'with --live on a real project: its region (checks push endpoints, OIDC and scheduler jobs exactly)',
    )
    .option(
      '--definition <file.json>',
      "audit this definition against the pipeline's code instead of its own",
    )
    .action(async (options: { live?: boolean; region?: string; definition?: string }) => {
      const loaded = await context.pipeline();
      const definition = definitionFrom(options.definition, loaded);
      const drifts = await staticAudit(loaded, definition);
      report(context, 'static audit', drifts);
      if (options.live) {
        const c = await context.connection();
        const onEmulator = Boolean(process.env.PUBSUB_EMULATOR_HOST);
        if (!onEmulator && !options.region)
          throw new UsageError(
            '--live on a real project needs --region (where the functions and scheduler jobs are)',
          );
        const pubsub = createPubSub(c.projectId);
        try {
          const live = await readPubSub(pubsub);
          let schedules = null;
          if (!onEmulator && options.region) {
            const listed = await runCommand([
              'gcloud',
              'scheduler',
              'jobs',
              'list',
              `--location=${options.region}`,
              `--project=${c.projectId}`,
              '--format=json',
            ]);
            if (listed.code !== 0)
              throw new Error(`gcloud scheduler jobs list failed: ${listed.stderr.trim()}`);
            schedules = parseSchedulerJobs(listed.stdout);
          }
          let invokers: LiveInvokers | null = null;
          if (!onEmulator && options.region) {
            invokers = {};
            for (const fn of planResources(definition).functions) {
              const read = await runCommand([
                'gcloud',
                'run',
                'services',
                'get-iam-policy',
                fn.name,
                `--region=${options.region}`,
                `--project=${c.projectId}`,
                '--format=json',
              ]);
              if (read.code !== 0)
                throw new Error(
                  `gcloud run services get-iam-policy ${fn.name} failed: ${read.stderr.trim()}`,
                );
              invokers[fn.name] = parseInvokers(read.stdout);
            }
          }
          const peek = createHeldPeek(pubsub, CONTROL_DLQ_SUBSCRIPTION);
          let controlDlq = null;
          if (live.subscriptions.some((s) => s.name === CONTROL_DLQ_SUBSCRIPTION)) {
            try {
              controlDlq = await peek();
            } catch (error) {
              // The rest of the audit still says what it found; this says what it could not check.
              drifts.push({
                area: 'control-dlq',
                message: `could not peek ${CONTROL_DLQ_SUBSCRIPTION}: ${error instanceof Error ? error.message : String(error)}`,
              });
            } finally {
              await peek.close();
            }
          }
          const liveDrifts = auditLive(
            planResources(definition),
            { ...live, schedules, invokers, controlDlq },
            { project: c.projectId, region: onEmulator ? undefined : options.region },
          );
          report(
            context,
            `live audit of ${c.projectId} (${c.source}${onEmulator ? '; scheduler jobs are the local scheduler, in-process' : ''})`,
            liveDrifts,
          );
          drifts.push(...liveDrifts);
        } finally {
          await pubsub.close();
        }
      }
      if (drifts.length > 0) process.exitCode = 1;
    });

  program
    .command('deploy')
    .description(
      'deploy the pipeline to a Google Cloud project with gcloud (writes the same plan as deploy.sh and Terraform JSON)',
    )
    .requiredOption(
      '--region <region>',
      'region of the functions, Firestore and scheduler jobs, e.g. europe-west1',
    )
    .option(
      '--project-number <number>',
      'the project number (default: asked of gcloud; shown as ${PROJECT_NUMBER} in a dry run)',
    )
    .option(
      '--env <NAME=value>',
      'environment for every function (repeatable); the reference pipeline needs SOURCE_API_URL',
      parseEnvPair,
    )
    .option(
      '--dashboard-reader <member>',
      'may read the dashboard: user:, group:, domain: or serviceAccount: (repeatable)',
      parseReader,
    )
    .option(
      '--dashboard-actor <member>',
      'may also act on the queue: user: or serviceAccount: only (repeatable)',
      parseActor,
    )
    .option('--runtime <runtime>', 'Cloud Functions runtime', 'nodejs20')
    .option(
      '--out <dir>',
      'where the plan, the Terraform JSON and the staged source are written',
      '.phasegate/deploy',
    )
    .option('--definition <file.json>', "deploy this definition with the pipeline's code instead of its own")
    .option('--dry-run', 'print the gcloud commands in order and write the files; run nothing')
    .action(async (options: DeployOptions, command: Command) => {
      const project = command.optsWithGlobals<{ project?: string }>().project;
      if (!project) throw new UsageError('deploy needs --project <id>');
      if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(project))
        throw new UsageError(
          `"${project}" is not a Google Cloud project id (6-30 lowercase letters, digits, hyphens)`,
        );
      const env = options.env ?? {};
      const loaded = await context.pipeline();
      const ofThisCheckout = resolve(loaded.root) === resolve(repoRoot);
      const missing = (loaded.pipeline.operations?.requiredEnv ?? []).filter((name) => !env[name]);
      if (missing.length)
        throw new UsageError(
          `pipeline ${loaded.name} needs ${missing.join(', ')}: add ${missing.map((m) => `--env ${m}=...`).join(' ')}`,
        );
      const definition = definitionFrom(options.definition, loaded);
      const drifts = await staticAudit(loaded, definition);
      if (drifts.length > 0) {
        report(context, 'static audit', drifts);
        throw new UsageError('the static audit found drift: fix it before deploying (`phasegate validate`)');
      }
      const out = resolve(options.out);
      const sourceDir = join(options.out, 'source');
      let projectNumber = options.projectNumber ?? PROJECT_NUMBER_PLACEHOLDER;
      if (!options.dryRun && !options.projectNumber) {
        const described = await runCommand([
          'gcloud',
          'projects',
          'describe',
          project,
          '--format=value(projectNumber)',
        ]);
        if (described.code !== 0)
          throw new UsageError(`cannot read the project number of ${project}: ${described.stderr.trim()}`);
        projectNumber = described.stdout.trim();
      }
      const target: DeployTarget = {
        project,
        region: options.region,
        projectNumber,
        env,
        dashboard: { readers: options.dashboardReader ?? [], actors: options.dashboardActor ?? [] },
        source: sourceDir,
        runtime: options.runtime,
      };
      if (target.dashboard.readers.length + target.dashboard.actors.length === 0)
        context.print(
          '# note: no --dashboard-reader or --dashboard-actor: nobody may open the dashboard until you add one',
        );
      const indexes = readIndexesFile(declaredIndexesPath());
      const steps = gcloudPlan(definition, target, indexes);
      const preamble =
        projectNumber === PROJECT_NUMBER_PLACEHOLDER
          ? [`PROJECT_NUMBER="$(gcloud projects describe ${project} --format='value(projectNumber)')"`]
          : [];
      const script = renderShell(steps, preamble);
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'deploy.sh'), script, { mode: 0o755 });
      writeFileSync(
        join(out, 'phasegate.tf.json'),
        `${JSON.stringify(terraformPlan(definition, target, indexes), null, 2)}\n`,
      );
      if (options.dryRun) {
        if (!ofThisCheckout) await stageProjectSource(join(out, 'source'), loaded);
        else if (hasCompiledOutput(loaded)) stageSource(join(out, 'source'), loaded);
        context.print(script);
        context.print(
          `# wrote ${join(options.out, 'deploy.sh')} and ${join(options.out, 'phasegate.tf.json')}; ` +
            (!ofThisCheckout || hasCompiledOutput(loaded)
              ? `staged the source in ${sourceDir}`
              : 'run `npm run build` and this again to stage the source they upload'),
        );
        return;
      }
      if (ofThisCheckout) {
        await buildOutput();
        stageSource(join(out, 'source'), loaded);
      } else await stageProjectSource(join(out, 'source'), loaded);
      const counts = await runDeployPlan(steps, runCommand, (line) => context.print(line));
      context.print(
        `deployed ${project} (${options.region}): ${counts.created} steps applied, ${counts.updated} updated, ` +
          `${counts.kept} already there. Check it with: phasegate validate --live --project ${project} --region ${options.region}`,
      );
    });
}
