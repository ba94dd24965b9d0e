import { z } from 'zod';
import { ERROR_KINDS } from '../errors/classify.ts';
import { QUEUE_STATUSES } from '../recovery/queue-status.ts';

/**
 * `pipeline_events/{eventId}`: the log of everything that happened to a run, one closed vocabulary.
 * Every writer builds one of these types (the compiler checks its payload), every reader may parse
 * with {@link PipelineEventSchema}. The `parentEventId` links an event to what caused it.
 */
const base = {
  eventId: z.string().min(1),
  /** ISO-8601 instant. */
  at: z.string().min(1),
  runId: z.string().nullable(),
  requestId: z.string().nullable(),
  partition: z.string().nullable(),
  /** A phase id, `orchestrator` or `dependencies`. */
  phase: z.string(),
  processor: z.string().nullable(),
  attempt: z.number().int().nullable(),
  triggerSource: z.string().nullable(),
  traceparent: z.string().nullable(),
  parentEventId: z.string().nullable(),
};

/** What went wrong, for the events of a failure; the message is capped at 1,000 characters. */
const failure = {
  errorType: z.enum(ERROR_KINDS),
  errorReason: z.string(),
  errorName: z.string(),
  message: z.string(),
  stack: z.string().nullable(),
};

/** One output's check by a gate (gate.ts's GateCheck). */
const GateCheckSchema = z.object({
  collection: z.string(),
  partitionField: z.string(),
  expected: z.number(),
  found: z.number(),
  processors: z.array(z.string()),
  invalid: z
    .object({ count: z.number(), first: z.array(z.object({ id: z.string(), problem: z.string() })) })
    .optional(),
  noExpectation: z.literal(true).optional(),
});

const event = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.object({ ...base, type: z.literal(type), ...shape });

/** A queue entry moved from one status to another (or was counted again in the same one). */
const transition = <T extends string>(type: T) =>
  z.looseObject({
    ...base,
    type: z.literal(type),
    from: z.enum(QUEUE_STATUSES),
    to: z.enum(QUEUE_STATUSES),
    message: z.string().nullable(),
  });

export const QUEUE_TRANSITION_TYPES = [
  'queue_failed_permanent',
  'queue_succeeded',
  'queue_resolved',
  'queue_discarded',
  'queue_requeued',
  'queue_retargeted',
  'queue_superseded',
  'queue_cancelled',
  'retry_started',
  'retry_completed',
  'gate_failed_again',
] as const;
export type QueueTransitionType = (typeof QUEUE_TRANSITION_TYPES)[number];

export const PipelineEventSchema = z.discriminatedUnion('type', [
  // One attempt of one processor request.
  event('processor_started', {}),
  event('processor_completed', {
    durationMs: z.number(),
    records: z.record(z.string(), z.number()),
    metrics: z.record(z.string(), z.number()),
  }),
  event('processor_failed', { durationMs: z.number(), ...failure }),
  event('message_rejected', failure),
  // Runs.
  event('run_started', { processors: z.array(z.string()), force: z.boolean() }),
  event('run_rejected', { message: z.string() }),
  event('run_superseded', { currentRunId: z.string(), message: z.string() }),
  event('superseded', { currentRunId: z.string(), message: z.string() }),
  // An operator's pause and resume (operations/pause.ts), and what a pause holds.
  event('pipeline_paused', { by: z.string(), note: z.string(), message: z.string() }),
  event('pipeline_resumed', {
    by: z.string(),
    note: z.string(),
    released: z.object({ runRequests: z.number(), triggers: z.number() }),
    message: z.string(),
  }),
  event('run_request_held', { heldId: z.string(), message: z.string() }),
  event('run_cancelled', { by: z.string(), note: z.string(), message: z.string() }),
  // Gates and what the reconciler finds.
  event('gate_passed', {
    checks: z.array(GateCheckSchema),
    shortfalls: z.array(GateCheckSchema),
    message: z.string().nullable(),
  }),
  event('gate_failed', {
    checks: z.array(GateCheckSchema),
    shortfalls: z.array(GateCheckSchema),
    message: z.string(),
  }),
  event('stalled', {
    runningForSeconds: z.number(),
    expectedDurationSeconds: z.number(),
    missing: z.array(z.string()),
    message: z.string(),
  }),
  event('incomplete', { message: z.string() }),
  // The failed-processor queue.
  event('dead_lettered', {
    deliveryCount: z.number().nullable(),
    sourceTopic: z.string(),
    message: z.string(),
  }),
  ...QUEUE_TRANSITION_TYPES.map((type) => transition(type)),
]);
export type PipelineEvent = z.infer<typeof PipelineEventSchema>;
export type EventType = PipelineEvent['type'];
export type EventOf<T extends EventType> = Extract<PipelineEvent, { type: T }>;
