import type { LoadedDefinition } from '../shared/definition/load.ts';
import type { PhaseSpec } from '../shared/definition/schema.ts';
import {
  OPERATIONS_ENTRY_POINTS,
  ORCHESTRATOR_ENTRY_POINTS,
  phaseEntryPoint,
  RECOVERY_ENTRY_POINTS,
} from '../shared/entry-points.ts';
import { CONTROL_DLQ_TOPIC, phaseDeadLetterTopic, phaseTopic, TOPICS } from '../shared/messages/messages.ts';

/** One deployable function: a functions-framework target in the compiled entry module. */
export interface FunctionPlan {
  name: string;
  /** The declarative registration name (`gcloud functions deploy --entry-point`). */
  entryPoint: string;
  /** Pub/Sub-triggered functions are pushed to by one subscription per topic. */
  trigger: { kind: 'pubsub'; topics: string[] } | { kind: 'http' };
  timeoutSeconds: number;
  memoryMb: number;
}

export interface SubscriptionPlan {
  name: string;
  topic: string;
  /** Push to this function; a subscription without one is pulled (the last-resort hold). */
  pushTo: string | null;
  ackDeadlineSeconds: number;
  retryPolicy: { minBackoffSeconds: number; maxBackoffSeconds: number } | null;
  deadLetter: { topic: string; maxDeliveryAttempts: number } | null;
}

/** A Cloud Scheduler job: publishes a fixed body to a topic on the definition's cron. */
export interface SchedulePlan {
  name: string;
  topic: string;
  cron: string;
  timeZone: string;
  body: Record<string, unknown>;
}

export interface ResourcePlan {
  topics: string[];
  functions: FunctionPlan[];
  subscriptions: SubscriptionPlan[];
  schedules: SchedulePlan[];
}

export const phaseFunctionName = phaseEntryPoint;
export const ORCHESTRATOR_FUNCTIONS = ORCHESTRATOR_ENTRY_POINTS;
export const RECOVERY_FUNCTIONS = RECOVERY_ENTRY_POINTS;
export const subscriptionName = (topic: string): string => `${topic}-sub`;

export const ORCHESTRATOR_DLQ_TOPIC = 'orchestrator-dlq';
/**
 * Dead letters of the kit's own control functions (the recorder, auto-retry). Held by a pull
 * subscription for a person: the last resort, reported by `validate` and `health`.
 */
export { CONTROL_DLQ_TOPIC };
/** Ack deadline of the pull subscription that holds the last-resort dead letters. */
export const HOLD_ACK_DEADLINE_SECONDS = 60;

type Settings = LoadedDefinition['orchestrator'];

function pushSubscription(
  topic: string,
  pushTo: string,
  settings: Settings,
  deadLetterTopic: string,
): SubscriptionPlan {
  return {
    name: subscriptionName(topic),
    topic,
    pushTo,
    ackDeadlineSeconds: settings.subscription.ackDeadlineSeconds,
    retryPolicy: {
      minBackoffSeconds: settings.subscription.minBackoffSeconds,
      maxBackoffSeconds: settings.subscription.maxBackoffSeconds,
    },
    deadLetter: { topic: deadLetterTopic, maxDeliveryAttempts: settings.subscription.maxDeliveryAttempts },
  };
}

function controlFunction(name: string, topic: string | string[], settings: Settings): FunctionPlan {
  return {
    name,
    entryPoint: name,
    trigger: { kind: 'pubsub', topics: Array.isArray(topic) ? topic : [topic] },
    timeoutSeconds: settings.function.timeoutSeconds,
    memoryMb: settings.function.memoryMb,
  };
}

function phaseResources(phase: PhaseSpec): { functions: FunctionPlan[]; subscriptions: SubscriptionPlan[] } {
  const name = phaseFunctionName(phase.id);
  const settings = { subscription: phase.subscription, function: phase.function };
  return {
    functions: [controlFunction(name, phaseTopic(phase.id), settings)],
    subscriptions: [pushSubscription(phaseTopic(phase.id), name, settings, phaseDeadLetterTopic(phase.id))],
  };
}

/** The definition's schedules as Cloud Scheduler jobs (the local scheduler runs the same topics on short periods). */
export function planSchedules(definition: LoadedDefinition): SchedulePlan[] {
  const s = definition.schedules;
  const jobs: SchedulePlan[] = [
    // A fixed body names the partition before the tick's, in the schedule's time zone; the orchestrator resolves it.
    {
      name: 'phasegate-run',
      topic: TOPICS.runRequests,
      cron: s.run.cron,
      timeZone: s.run.timeZone,
      body: {
        relative: -1,
        timeZone: s.run.timeZone,
        triggerSource: 'scheduled',
        requestedBy: 'cloud-scheduler',
      },
    },
    {
      name: 'phasegate-auto-retry',
      topic: TOPICS.autoRetryTicks,
      cron: s.autoRetry.cron,
      timeZone: s.autoRetry.timeZone,
      body: { source: 'cloud-scheduler' },
    },
    {
      name: 'phasegate-reconcile',
      topic: TOPICS.reconcileTicks,
      cron: s.reconcile.cron,
      timeZone: s.reconcile.timeZone,
      body: {},
    },
  ];
  if (s.completeness)
    jobs.push({
      name: 'phasegate-completeness',
      topic: TOPICS.reconcileTicks,
      cron: s.completeness.cron,
      timeZone: s.completeness.timeZone,
      body: { completenessPartitions: s.completeness.partitions, timeZone: s.completeness.timeZone },
    });
  return jobs;
}

/** Every resource the definition implies. Local provisioning, deploy and validate all read this. */
export function planResources(definition: LoadedDefinition): ResourcePlan {
  const control = definition.orchestrator;
  const phases = definition.phases.map(phaseResources);
  // Every dead-letter topic is read by the recorder: a dead-letter topic nobody reads loses messages.
  const deadLetterTopics = [
    ...definition.phases.map((p) => phaseDeadLetterTopic(p.id)),
    ORCHESTRATOR_DLQ_TOPIC,
  ];
  return {
    topics: [
      ...Object.values(TOPICS),
      ...definition.phases.flatMap((p) => [phaseTopic(p.id), phaseDeadLetterTopic(p.id)]),
      ORCHESTRATOR_DLQ_TOPIC,
      CONTROL_DLQ_TOPIC,
    ],
    functions: [
      controlFunction(ORCHESTRATOR_FUNCTIONS.runs, TOPICS.runRequests, control),
      controlFunction(ORCHESTRATOR_FUNCTIONS.completions, TOPICS.processorCompletions, control),
      ...phases.flatMap((p) => p.functions),
      // The recorder is triggered by several topics: one subscription each, one function.
      controlFunction(RECOVERY_FUNCTIONS.dlqRecorder, deadLetterTopics, control),
      controlFunction(RECOVERY_FUNCTIONS.autoRetry, TOPICS.autoRetryTicks, control),
      controlFunction(OPERATIONS_ENTRY_POINTS.reconciler, TOPICS.reconcileTicks, control),
      {
        name: OPERATIONS_ENTRY_POINTS.dashboard,
        entryPoint: OPERATIONS_ENTRY_POINTS.dashboard,
        trigger: { kind: 'http' },
        timeoutSeconds: 60,
        memoryMb: 256,
      },
    ],
    subscriptions: [
      pushSubscription(TOPICS.runRequests, ORCHESTRATOR_FUNCTIONS.runs, control, ORCHESTRATOR_DLQ_TOPIC),
      pushSubscription(
        TOPICS.processorCompletions,
        ORCHESTRATOR_FUNCTIONS.completions,
        control,
        ORCHESTRATOR_DLQ_TOPIC,
      ),
      ...phases.flatMap((p) => p.subscriptions),
      ...deadLetterTopics.map((topic) =>
        pushSubscription(topic, RECOVERY_FUNCTIONS.dlqRecorder, control, CONTROL_DLQ_TOPIC),
      ),
      pushSubscription(TOPICS.autoRetryTicks, RECOVERY_FUNCTIONS.autoRetry, control, CONTROL_DLQ_TOPIC),
      pushSubscription(TOPICS.reconcileTicks, OPERATIONS_ENTRY_POINTS.reconciler, control, CONTROL_DLQ_TOPIC),
      {
        name: subscriptionName(CONTROL_DLQ_TOPIC),
        topic: CONTROL_DLQ_TOPIC,
        pushTo: null,
        ackDeadlineSeconds: HOLD_ACK_DEADLINE_SECONDS,
        retryPolicy: null,
        deadLetter: null,
      },
    ],
    schedules: planSchedules(definition),
  };
}
