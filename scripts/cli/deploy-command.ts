import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { declaredIndexesPath, readIndexesFile } from '../../shared/adapters/declared-indexes.ts';
import { renderShell } from '../../infra/deploy/deploy-script.ts';
import { gcloudPlan } from '../../infra/deploy/gcloud.ts';
import { PROJECT_NUMBER_PLACEHOLDER, type DeployTarget } from '../../infra/deploy/target.ts';
import { terraformPlan } from '../../infra/deploy/terraform.ts';
import { describeDrifts } from '../../infra/validate/drift.ts';
import { staticAudit } from '../lib/audit.ts';
import { runCommand, runDeployPlan } from '../lib/deploy-runner.ts';
import { repoRoot } from '../lib/local-pipeline.ts';
import type { CliContext } from './context.ts';
import { definitionFrom } from './definition-option.ts';
import { buildOutput, hasCompiledOutput, stageProjectSource, stageSource } from './deploy-source.ts';
import { projectNumberOf } from './gcloud-reads.ts';
import { parseActor, parseEnvPair, parseReader } from './option-parsers.ts';
import { UsageError } from './usage-error.ts';

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

export function registerDeployCommand(program: Command, context: CliContext): void {
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
        context.print(describeDrifts('static audit', drifts));
        throw new UsageError('the static audit found drift: fix it before deploying (`phasegate validate`)');
      }
      const out = resolve(options.out);
      const sourceDir = join(options.out, 'source');
      let projectNumber = options.projectNumber ?? PROJECT_NUMBER_PLACEHOLDER;
      if (!options.dryRun && !options.projectNumber) projectNumber = await projectNumberOf(project);
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
