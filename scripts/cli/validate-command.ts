import type { Command } from 'commander';
import { createPubSub } from '../../shared/adapters/pubsub-publisher.ts';
import { createHeldPeek } from '../../shared/adapters/pubsub-held.ts';
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { CONTROL_DLQ_SUBSCRIPTION } from '../../shared/messages/messages.ts';
import { planResources } from '../../infra/plan.ts';
import { describeDrifts, type Drift } from '../../infra/validate/drift.ts';
import { auditLive } from '../../infra/validate/live-audit.ts';
import { readPubSub } from '../../infra/validate/live-state.ts';
import { staticAudit } from '../lib/audit.ts';
import type { CliContext } from './context.ts';
import { definitionFrom } from './definition-option.ts';
import { listSchedulerJobs, readInvokers } from './gcloud-reads.ts';
import { UsageError } from './usage-error.ts';

/**
 * Audits what exists (the emulators or a real project) against the definition's plan, prints the
 * result, and returns every drift found, also what it could not check.
 */
async function auditWhatExists(
  context: CliContext,
  definition: LoadedDefinition,
  region: string | undefined,
): Promise<Drift[]> {
  const drifts: Drift[] = [];
  const c = await context.connection();
  const onEmulator = Boolean(process.env.PUBSUB_EMULATOR_HOST);
  if (!onEmulator && !region)
    throw new UsageError(
      '--live on a real project needs --region (where the functions and scheduler jobs are)',
    );
  const project = !onEmulator && region ? { projectId: c.projectId, region } : undefined;
  const pubsub = createPubSub(c.projectId);
  try {
    const live = await readPubSub(pubsub);
    const schedules = project ? await listSchedulerJobs(project) : null;
    const invokers = project ? await readInvokers(definition, project) : null;
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
      { project: c.projectId, region: onEmulator ? undefined : region },
    );
    const scheduler = onEmulator ? '; scheduler jobs are the local scheduler, in-process' : '';
    context.print(describeDrifts(`live audit of ${c.projectId} (${c.source}${scheduler})`, liveDrifts));
    drifts.push(...liveDrifts);
  } finally {
    await pubsub.close();
  }
  return drifts;
}

export function registerValidateCommand(program: Command, context: CliContext): void {
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
      context.print(describeDrifts('static audit', drifts));
      if (options.live) drifts.push(...(await auditWhatExists(context, definition, options.region)));
      if (drifts.length > 0) process.exitCode = 1;
    });
}
