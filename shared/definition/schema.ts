import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { IdentifierSchema } from '../messages/fields.ts';
import { PartitionSchemeInputSchema } from './partition.ts';

/** Cloud Functions gen2 memory sizes, in MiB. */
export const FUNCTION_MEMORY_MB = [128, 256, 512, 1024, 2048, 4096, 8192] as const;

const CollectionNameSchema = z.string().regex(/^[a-z][a-z0-9_]{0,99}$/, 'lowercase letters, digits and _');

/** What a processor must write for one partition, and how to count it. */
export const OutputSchema = z
  .object({
    collection: CollectionNameSchema,
    /** Field holding the partition key; the count for a partition is `where(partitionField == key)`. */
    partitionField: z.string().min(1).default('partition'),
  })
  .strict();

export const ProcessorSpecSchema = z
  .object({
    name: IdentifierSchema,
    description: z.string().min(1),
    outputs: z.array(OutputSchema),
  })
  .strict();

export const SubscriptionSettingsSchema = z
  .object({
    /** Must exceed the function's worst case, or a slow handler is redelivered while it runs. */
    ackDeadlineSeconds: z.number().int().min(10).max(600),
    /** Pub/Sub retry policy: exponential backoff between redeliveries. */
    minBackoffSeconds: z.number().int().min(0).max(600),
    maxBackoffSeconds: z.number().int().min(0).max(600),
    /** After this many deliveries the message goes to the phase's dead-letter topic. */
    maxDeliveryAttempts: z.number().int().min(5).max(100),
  })
  .strict();

export const FunctionSettingsSchema = z
  .object({
    /** Event-driven gen2 functions allow at most 540 s. */
    timeoutSeconds: z.number().int().min(1).max(540),
    memoryMb: z.union(FUNCTION_MEMORY_MB.map((mb) => z.literal(mb))),
  })
  .strict();

export const PhaseSpecSchema = z
  .object({
    id: IdentifierSchema,
    description: z.string().min(1),
    processors: z.array(ProcessorSpecSchema).min(1),
    subscription: SubscriptionSettingsSchema,
    function: FunctionSettingsSchema,
    /** A phase RUNNING longer than this is stalled. */
    expectedDurationSeconds: z.number().int().positive(),
  })
  .strict()
  .superRefine((phase, ctx) => {
    if (phase.subscription.maxBackoffSeconds < phase.subscription.minBackoffSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['subscription', 'maxBackoffSeconds'],
        message: `must be at least minBackoffSeconds (${phase.subscription.minBackoffSeconds})`,
      });
    }
    if (phase.subscription.ackDeadlineSeconds <= phase.function.timeoutSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['subscription', 'ackDeadlineSeconds'],
        message: `must exceed function.timeoutSeconds (${phase.function.timeoutSeconds}), or a slow run is redelivered while it still runs`,
      });
    }
  });

const CronSchema = z.string().superRefine((value, ctx) => {
  try {
    CronExpressionParser.parse(value, { tz: 'UTC' });
  } catch (error) {
    ctx.addIssue({
      code: 'custom',
      message: `invalid cron expression "${value}": ${error instanceof Error ? error.message : String(error)}`,
    });
  }
});

export const ScheduleSchema = z
  .object({
    /** Cloud Scheduler cron, in `timeZone`. */
    cron: CronSchema,
    timeZone: z.string().min(1).default('UTC'),
    /** The local scheduler's period, shorter than production so a demo shows it working. */
    localEverySeconds: z.number().int().positive(),
  })
  .strict();

/** The kit's own functions (orchestrator, recorder...): same settings shape as a phase. */
const ControlFunctionSchema = z
  .object({ subscription: SubscriptionSettingsSchema, function: FunctionSettingsSchema })
  .strict()
  .superRefine((c, ctx) => {
    if (c.subscription.ackDeadlineSeconds <= c.function.timeoutSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['subscription', 'ackDeadlineSeconds'],
        message: `must exceed function.timeoutSeconds (${c.function.timeoutSeconds})`,
      });
    }
  });
const DEFAULT_CONTROL = {
  subscription: {
    ackDeadlineSeconds: 120,
    minBackoffSeconds: 2,
    maxBackoffSeconds: 60,
    maxDeliveryAttempts: 10,
  },
  function: { timeoutSeconds: 60, memoryMb: 256 as const },
};

/**
 * Pub/Sub keeps an unacked message up to 7 days, and its dead letter up to 7 more on the dead-letter
 * subscription: a delivery or a dead letter of it must still find the bookkeeping that makes it harmless.
 */
export const MIN_RETENTION_DAYS = 14;

export const RetentionSchema = z
  .object({
    /** Bookkeeping documents (events, attempts, claims, sent outbox entries) expire this long after their last write. */
    days: z
      .number('a number of days')
      .int('a whole number of days')
      .min(
        MIN_RETENTION_DAYS,
        `at least ${MIN_RETENTION_DAYS} days: Pub/Sub may deliver a message for 7 days and its dead letter for 7 more, ` +
          `and each must still find its attempt record`,
      )
      .max(36_500, 'at most 36500 days (100 years)')
      .default(30),
  })
  .strict();

export const PipelineDefinitionSchema = z
  .object({
    name: IdentifierSchema,
    /** What one run is for: `daily` (YYYY-MM-DD, the default), `weekly` (ISO YYYY-Www), `monthly` (YYYY-MM) or a custom scheme. */
    partition: PartitionSchemeInputSchema.default('daily'),
    phases: z.array(PhaseSpecSchema).min(1),
    /**
     * What a run waiting for earlier partitions (`waitForEarlierPartitions`) gets: `wait` (a backfill
     * or a person fills them) or `trigger` (the orchestrator runs them, in order, `concurrency` at a
     * time, and resumes the waiting run when they have landed).
     */
    dependencies: z
      .union([
        z.enum(['wait', 'trigger']).transform((mode) => ({ mode, concurrency: 2 })),
        z
          .object({
            mode: z.enum(['wait', 'trigger']),
            concurrency: z.number().int().min(1).max(20).default(2),
          })
          .strict(),
      ])
      .default({ mode: 'wait', concurrency: 2 }),
    /** Settings of the orchestrator's subscriptions and functions. */
    orchestrator: ControlFunctionSchema.default(DEFAULT_CONTROL),
    schedules: z
      .object({
        /** Publishes `{"relative":-1}`: a run of the partition before the one the tick falls in. */
        run: ScheduleSchema,
        autoRetry: ScheduleSchema,
        reconcile: ScheduleSchema,
        /** The completeness check over the last `partitions` partitions (a reconcile tick that asks for it). */
        completeness: ScheduleSchema.extend({
          partitions: z.number().int().positive().max(366).default(7),
        }).optional(),
      })
      .strict(),
    queue: z
      .object({
        /** Auto-retries of a queue entry before it is failed_permanent. */
        maxRetries: z.number().int().min(0).max(50).default(3),
        /** A source that has not published is asked again after this long (its cadence). */
        notReadyRetrySeconds: z.number().int().positive().default(900),
        /** ...until this long after the first try; then the entry is failed_permanent. */
        notReadyDeadlineSeconds: z.number().int().positive().default(86_400),
        /** Auto-retry backoff: base * 2^retries with ±20% jitter, capped. */
        retryBackoffSeconds: z.number().int().positive().default(60),
        maxRetryBackoffSeconds: z.number().int().positive().default(21_600),
        /** A `retrying` entry not heard of for this long is due again (its retry was lost). */
        retryingStaleSeconds: z.number().int().positive().default(1800),
      })
      .strict()
      .default({
        maxRetries: 3,
        notReadyRetrySeconds: 900,
        notReadyDeadlineSeconds: 86_400,
        retryBackoffSeconds: 60,
        maxRetryBackoffSeconds: 21_600,
        retryingStaleSeconds: 1800,
      }),
    /** How long the kit's bookkeeping documents live (Firestore TTL in production, the reconciler's sweep locally). */
    retention: RetentionSchema.default({ days: 30 }),
  })
  .strict()
  .superRefine((definition, ctx) => {
    const phaseIds = new Map<string, number>();
    const processorOwners = new Map<string, string>();
    definition.phases.forEach((phase, index) => {
      const earlier = phaseIds.get(phase.id);
      if (earlier !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['phases', index, 'id'],
          message: `duplicate phase id "${phase.id}" (also phases[${earlier}])`,
        });
      }
      phaseIds.set(phase.id, index);
      phase.processors.forEach((processor, pIndex) => {
        const owner = processorOwners.get(processor.name);
        if (owner !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['phases', index, 'processors', pIndex, 'name'],
            message:
              `duplicate processor name "${processor.name}" (also in phase "${owner}"): queue entries and events ` +
              `name processors alone`,
          });
        }
        processorOwners.set(processor.name, phase.id);
      });
    });
  });

export type PipelineDefinitionInput = z.input<typeof PipelineDefinitionSchema>;
export type PipelineDefinition = z.output<typeof PipelineDefinitionSchema>;
export type PhaseSpec = z.output<typeof PhaseSpecSchema>;
export type ProcessorSpec = z.output<typeof ProcessorSpecSchema>;
export type OutputSpec = z.output<typeof OutputSchema>;
export type Schedule = z.output<typeof ScheduleSchema>;

/** Processor names of a definition written `as const`: a typo is a compile error. */
export type ProcessorNameOf<D extends PipelineDefinitionInput> =
  D['phases'][number]['processors'][number]['name'];
export type PhaseIdOf<D extends PipelineDefinitionInput> = D['phases'][number]['id'];
