import type { LoadedDefinition } from '../shared/definition/load.ts';
import type { PhaseSpec } from '../shared/definition/schema.ts';
import { phaseDeadLetterTopic, phaseTopic, TOPICS } from '../shared/messages/messages.ts';
import { ORCHESTRATOR_ENTRY_POINTS, phaseEntryPoint } from '../shared/entry-points.ts';

/** One deployable function: a functions-framework target in the compiled entry module. */
export interface FunctionPlan {
  name: string;
  /** The declarative registration name (`gcloud functions deploy --entry-point`). */
  entryPoint: string;
  trigger: { kind: 'pubsub'; topic: string } | { kind: 'http' };
  timeoutSeconds: number;
  memoryMb: number;
}

export interface SubscriptionPlan {
  name: string;
  topic: string;
  /** Push to this function; a subscription without one is pulled (dead-letter holding). */
  pushTo: string | null;
  ackDeadlineSeconds: number;
  retryPolicy: { minBackoffSeconds: number; maxBackoffSeconds: number } | null;
  deadLetter: { topic: string; maxDeliveryAttempts: number } | null;
}

export interface ResourcePlan {
  topics: string[];
  functions: FunctionPlan[];
  subscriptions: SubscriptionPlan[];
}

export const phaseFunctionName = phaseEntryPoint;
export const subscriptionName = (topic: string): string => `${topic}-sub`;

/** Ack deadline of the pull subscription that holds a dead-letter topic for a person or a tool. */
export const DEAD_LETTER_ACK_DEADLINE_SECONDS = 60;

function phaseResources(phase: PhaseSpec): { functions: FunctionPlan[]; subscriptions: SubscriptionPlan[] } {
  const topic = phaseTopic(phase.id);
  const dlq = phaseDeadLetterTopic(phase.id);
  const name = phaseFunctionName(phase.id);
  return {
    functions: [{ name, entryPoint: name, trigger: { kind: 'pubsub', topic }, timeoutSeconds: phase.function.timeoutSeconds, memoryMb: phase.function.memoryMb }],
    subscriptions: [
      {
        name: subscriptionName(topic),
        topic,
        pushTo: name,
        ackDeadlineSeconds: phase.subscription.ackDeadlineSeconds,
        retryPolicy: { minBackoffSeconds: phase.subscription.minBackoffSeconds, maxBackoffSeconds: phase.subscription.maxBackoffSeconds },
        deadLetter: { topic: dlq, maxDeliveryAttempts: phase.subscription.maxDeliveryAttempts },
      },
      // A dead-letter topic nobody subscribes to drops what it receives: hold it for a person.
      { name: subscriptionName(dlq), topic: dlq, pushTo: null, ackDeadlineSeconds: DEAD_LETTER_ACK_DEADLINE_SECONDS, retryPolicy: null, deadLetter: null },
    ],
  };
}

export const ORCHESTRATOR_DLQ_TOPIC = 'orchestrator-dlq';
export const ORCHESTRATOR_FUNCTIONS = ORCHESTRATOR_ENTRY_POINTS;

function orchestratorResources(definition: LoadedDefinition): { functions: FunctionPlan[]; subscriptions: SubscriptionPlan[] } {
  const settings = definition.orchestrator;
  const consumers = [
    { name: ORCHESTRATOR_FUNCTIONS.runs, topic: TOPICS.runRequests },
    { name: ORCHESTRATOR_FUNCTIONS.completions, topic: TOPICS.processorCompletions },
  ];
  return {
    functions: consumers.map((c) => ({ name: c.name, entryPoint: c.name, trigger: { kind: 'pubsub' as const, topic: c.topic }, timeoutSeconds: settings.function.timeoutSeconds, memoryMb: settings.function.memoryMb })),
    subscriptions: [
      ...consumers.map((c) => ({
        name: subscriptionName(c.topic),
        topic: c.topic,
        pushTo: c.name,
        ackDeadlineSeconds: settings.subscription.ackDeadlineSeconds,
        retryPolicy: { minBackoffSeconds: settings.subscription.minBackoffSeconds, maxBackoffSeconds: settings.subscription.maxBackoffSeconds },
        deadLetter: { topic: ORCHESTRATOR_DLQ_TOPIC, maxDeliveryAttempts: settings.subscription.maxDeliveryAttempts },
      })),
      { name: subscriptionName(ORCHESTRATOR_DLQ_TOPIC), topic: ORCHESTRATOR_DLQ_TOPIC, pushTo: null, ackDeadlineSeconds: DEAD_LETTER_ACK_DEADLINE_SECONDS, retryPolicy: null, deadLetter: null },
    ],
  };
}

/** Every resource the definition implies. Local provisioning, deploy and validate all read this. */
export function planResources(definition: LoadedDefinition): ResourcePlan {
  const parts = [orchestratorResources(definition), ...definition.phases.map(phaseResources)];
  return {
    topics: [...Object.values(TOPICS), ORCHESTRATOR_DLQ_TOPIC, ...definition.phases.flatMap((p) => [phaseTopic(p.id), phaseDeadLetterTopic(p.id)])],
    functions: parts.flatMap((p) => p.functions),
    subscriptions: parts.flatMap((p) => p.subscriptions),
  };
}
