import { join } from 'node:path';
import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { makeRequestId, phaseTopic, type ProcessorRequest } from '../../shared/messages/messages.ts';
import { newTraceparent, type TriggerSource } from '../../shared/messages/fields.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { startSourceApi, type SourceApi } from '../../scripts/source-api/server.ts';
import type { FaultRuleInput } from '../../scripts/source-api/faults.ts';
import { eventually, repoRoot, startHarness, type Harness } from './emulator-harness.ts';
import { realDataset } from './real-data.ts';

export interface ReferenceHarness extends Harness {
  source: SourceApi;
}

/** The reference pipeline's functions on the emulators, fed by an in-process source API on the real data. */
export async function startReferenceHarness(
  label: string,
  options: { faults?: FaultRuleInput[]; httpTimeoutMs?: number } = {},
): Promise<ReferenceHarness> {
  const source = await startSourceApi({ dataset: realDataset(), faults: options.faults });
  try {
    const harness = await startHarness({
      label,
      definition: referenceDefinition,
      functionsSource: join(repoRoot, 'functions', 'index.ts'),
      functionEnv: () => ({
        SOURCE_API_URL: source.url,
        PHASEGATE_HTTP_TIMEOUT_MS: String(options.httpTimeoutMs ?? 2000),
      }),
    });
    return {
      ...harness,
      source,
      async stop() {
        await harness.stop();
        await source.close();
      },
    };
  } catch (error) {
    await source.close();
    throw error;
  }
}

export type SettledStatus = 'completed' | 'waiting' | 'failed_permanent';

export function processorRequest(
  runId: string,
  phase: string,
  processor: string,
  gameDate: string,
  triggerSource: TriggerSource = 'manual',
): ProcessorRequest {
  return {
    runId,
    requestId: makeRequestId({ runId, phase, processor }),
    partition: gameDate,
    phase,
    processor,
    triggerSource,
    parentEventId: null,
    traceparent: newTraceparent(),
  };
}

/** Waits until the request has settled: completed, or recorded in the queue (waiting / failed_permanent). */
export async function settled(h: Harness, requestId: string, timeoutMs = 90_000): Promise<SettledStatus> {
  let status: unknown;
  await eventually(
    async () => {
      status = (await h.store.get(COLLECTIONS.processorRuns, requestId))?.status;
      return status === 'completed' || status === 'waiting' || status === 'failed_permanent';
    },
    { timeoutMs, what: () => `request ${requestId} to settle (status ${String(status)})` },
  );
  return status as SettledStatus;
}

/**
 * Drives one date through the phases in order, the way the orchestrator will: a phase's
 * requests are published when every processor of the previous phase has completed.
 * Stops at the first phase that does not complete and says which requests settled how.
 */
export async function runDate(
  h: Harness,
  gameDate: string,
  runId: string,
  phases = referenceDefinition.phases.map((p) => p.id),
): Promise<Record<string, SettledStatus>> {
  const outcome: Record<string, SettledStatus> = {};
  for (const phaseId of phases) {
    const phase = referenceDefinition.phase(phaseId);
    const requests = phase.processors.map((p) => processorRequest(runId, phase.id, p.name, gameDate));
    await Promise.all(requests.map((r) => h.publishJson(phaseTopic(phase.id), r)));
    const statuses = await Promise.all(requests.map((r) => settled(h, r.requestId)));
    requests.forEach((r, i) => (outcome[r.processor] = statuses[i]!));
    if (statuses.some((s) => s !== 'completed')) break;
  }
  return outcome;
}

/**
 * Runs one phase of a date: publishes the requests of processors not yet completed and waits
 * for each to settle again. True when every processor of the phase has completed.
 */
export async function runPhase(
  h: Harness,
  gameDate: string,
  runId: string,
  phaseId: string,
  triggerSource: TriggerSource,
): Promise<boolean> {
  const phase = referenceDefinition.phase(phaseId);
  const results = await Promise.all(
    phase.processors.map(async (p) => {
      const request = processorRequest(runId, phase.id, p.name, gameDate, triggerSource);
      const before = await h.store.get(COLLECTIONS.processorRuns, request.requestId);
      if (before?.status === 'completed') return true;
      const attemptsBefore = typeof before?.attempts === 'number' ? before.attempts : 0;
      await h.publishJson(phaseTopic(phase.id), request);
      let status: unknown;
      await eventually(
        async () => {
          const run = await h.store.get(COLLECTIONS.processorRuns, request.requestId);
          status = run?.status;
          return (
            typeof run?.attempts === 'number' &&
            run.attempts > attemptsBefore &&
            ['completed', 'waiting', 'failed_permanent'].includes(String(status))
          );
        },
        {
          timeoutMs: 90_000,
          what: () =>
            `${request.requestId} to settle after attempt ${attemptsBefore + 1} (status ${String(status)})`,
        },
      );
      return status === 'completed';
    }),
  );
  return results.every(Boolean);
}

/**
 * A backfill the way a person would run it out of order: each date goes as far as its data
 * dependencies allow; dates waiting on earlier ones are retried (triggerSource=retry) in
 * later rounds until all are done.
 */
export async function backfill(
  h: Harness,
  dates: readonly string[],
  runIdOf: (date: string) => string,
  maxRounds = 6,
): Promise<void> {
  const phases = referenceDefinition.phases.map((p) => p.id);
  const progress = new Map(dates.map((d) => [d, 0]));
  for (let round = 0; round < maxRounds && progress.size > 0; round += 1) {
    for (const date of dates) {
      let index = progress.get(date);
      if (index === undefined) continue;
      while (
        index < phases.length &&
        (await runPhase(h, date, runIdOf(date), phases[index]!, round === 0 ? 'backfill' : 'retry'))
      )
        index += 1;
      if (index === phases.length) progress.delete(date);
      else progress.set(date, index);
    }
  }
  if (progress.size > 0)
    throw new Error(
      `backfill did not finish: ${[...progress].map(([d, i]) => `${d} stuck at ${phases[i]}`).join(', ')}`,
    );
}
