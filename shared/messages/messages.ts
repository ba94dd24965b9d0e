import { z } from 'zod';
import { PartitionKeySchema } from '../definition/partition.ts';
import { ERROR_KINDS } from '../errors/classify.ts';
import {
  DocumentIdSchema,
  IdentifierSchema,
  RunIdSchema,
  TraceparentSchema,
  TriggerSourceSchema,
} from './fields.ts';

/** Fixed topics; phase topics are named by `phaseTopic` / `phaseDeadLetterTopic`. */
export const TOPICS = {
  runRequests: 'run-requests',
  processorCompletions: 'processor-completions',
  autoRetryTicks: 'auto-retry-ticks',
  reconcileTicks: 'reconcile-ticks',
} as const;

/**
 * Where the dead-letter recorder's own subscriptions dead-letter: a message here is one the recorder
 * could not record (a Firestore outage). Held by a pull subscription nothing consumes; health, the
 * dashboard, `validate --live` and the reconcile tick (an alert) report it.
 */
export const CONTROL_DLQ_TOPIC = 'control-dlq';
export const CONTROL_DLQ_SUBSCRIPTION = `${CONTROL_DLQ_TOPIC}-sub`;

export const phaseTopic = (phaseId: string): string => `phase-${phaseId}`;
export const phaseDeadLetterTopic = (phaseId: string): string => `phase-${phaseId}-dlq`;

/**
 * Published to `run-requests` to start a run. The minimal form is
 * `{"partition":"2024-04-21","triggerSource":"manual"}`; the rest is for recovery and backfills.
 * The key is checked against the pipeline's partition scheme when the request arrives.
 */
export const RunRequestSchema = z
  .object({
    partition: PartitionKeySchema.optional(),
    /**
     * Instead of `partition`, for scheduled jobs whose message body is fixed: the partition this
     * many partitions from the one the publish time falls in, in `timeZone` (-1: the one before).
     * The orchestrator resolves it against the message's first publish time.
     */
    relative: z.number().int().min(-366).max(0).optional(),
    timeZone: z.string().min(1).optional(),
    triggerSource: TriggerSourceSchema,
    /** Start from this phase instead of the first. */
    startPhase: IdentifierSchema.optional(),
    /** Re-run only these processors of the start phase. */
    processors: z.array(IdentifierSchema).min(1).optional(),
    /** Start even if a RUNNING run exists for the partition. */
    force: z.boolean().optional(),
    requestedBy: z.string().max(200).optional(),
    traceparent: TraceparentSchema.optional(),
  })
  .strict()
  .refine((r) => (r.partition === undefined) !== (r.relative === undefined), {
    message: 'give exactly one of partition and relative',
    path: ['partition'],
  });
export type RunRequest = z.infer<typeof RunRequestSchema>;

export const RUN_REQUEST_TOPIC = TOPICS.runRequests;

/** Published to `phase-<phase>`: one processor's work for one run. */
export const ProcessorRequestSchema = z
  .object({
    runId: RunIdSchema,
    /** Deterministic from run, phase and processor (see `makeRequestId`): redeliveries and retries share it. */
    requestId: DocumentIdSchema,
    partition: PartitionKeySchema,
    phase: IdentifierSchema,
    processor: IdentifierSchema,
    triggerSource: TriggerSourceSchema,
    /** The event this request answers (the trigger decision or the failure being retried). */
    parentEventId: z.string().min(1).nullable(),
    traceparent: TraceparentSchema,
  })
  .strict();
export type ProcessorRequest = z.infer<typeof ProcessorRequestSchema>;

/** Published to `processor-completions` after the processor's writes committed with its completion record. */
export const ProcessorCompletedSchema = z
  .object({
    runId: RunIdSchema,
    requestId: DocumentIdSchema,
    partition: PartitionKeySchema,
    phase: IdentifierSchema,
    processor: IdentifierSchema,
    triggerSource: TriggerSourceSchema,
    /** The `processor_completed` event id. */
    parentEventId: z.string().min(1),
    traceparent: TraceparentSchema,
    completedAt: z.iso.datetime(),
    durationMs: z.number().int().nonnegative(),
    /** Documents written per collection (distinct ids), as committed. */
    records: z.record(z.string(), z.number().int().nonnegative()),
    /** Processor-specific counters (rows read, rejected, duplicates...). */
    metrics: z.record(z.string(), z.number()),
  })
  .strict();
export type ProcessorCompleted = z.infer<typeof ProcessorCompletedSchema>;
export const PROCESSOR_COMPLETED_TOPIC = TOPICS.processorCompletions;

/**
 * Also published to `processor-completions`, after a failure was recorded in the
 * failed-processor queue, so the run's status shows it at once.
 */
export const ProcessorFailedSchema = z
  .object({
    outcome: z.enum(['waiting', 'failed_permanent']),
    runId: RunIdSchema,
    requestId: DocumentIdSchema,
    partition: PartitionKeySchema,
    phase: IdentifierSchema,
    processor: IdentifierSchema,
    triggerSource: TriggerSourceSchema,
    /** The `processor_failed` event id. */
    parentEventId: z.string().min(1),
    traceparent: TraceparentSchema,
    errorType: z.enum(ERROR_KINDS),
    /** Capped at 1,000 characters. */
    message: z.string(),
    failedAt: z.iso.datetime(),
  })
  .strict();
export type ProcessorFailed = z.infer<typeof ProcessorFailedSchema>;

/** What the orchestrator reads from `processor-completions`: a completion or a recorded failure. */
export const ProcessorOutcomeSchema = z.union([ProcessorCompletedSchema, ProcessorFailedSchema]);
export type ProcessorOutcome = z.infer<typeof ProcessorOutcomeSchema>;
export const isFailure = (outcome: ProcessorOutcome): outcome is ProcessorFailed => 'outcome' in outcome;

/** Identity of one processor's work in one run: a redelivered or retried request overwrites, never duplicates. */
export function makeRequestId(parts: { runId: string; phase: string; processor: string }): string {
  return `${parts.runId}--${parts.phase}--${parts.processor}`;
}
