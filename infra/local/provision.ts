import type { PubSub } from '@google-cloud/pubsub';
import type { ResourcePlan, SubscriptionPlan } from '../plan.ts';

const ALREADY_EXISTS = 6;

function isAlreadyExists(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === ALREADY_EXISTS;
}

/** The push endpoint form that makes the CloudEvent `source` name the topic. */
export function pushEndpoint(functionBaseUrl: string, projectId: string, topic: string): string {
  return `${functionBaseUrl}/projects/${projectId}/topics/${topic}`;
}

function subscriptionSettings(plan: SubscriptionPlan, projectId: string, endpoint: string | null) {
  return {
    ackDeadlineSeconds: plan.ackDeadlineSeconds,
    ...(endpoint ? { pushConfig: { pushEndpoint: endpoint } } : {}),
    ...(plan.retryPolicy
      ? {
          retryPolicy: {
            minimumBackoff: { seconds: plan.retryPolicy.minBackoffSeconds },
            maximumBackoff: { seconds: plan.retryPolicy.maxBackoffSeconds },
          },
        }
      : {}),
    ...(plan.deadLetter
      ? {
          deadLetterPolicy: {
            deadLetterTopic: `projects/${projectId}/topics/${plan.deadLetter.topic}`,
            maxDeliveryAttempts: plan.deadLetter.maxDeliveryAttempts,
          },
        }
      : {}),
  };
}

/**
 * Creates every topic and subscription of the plan on the emulator, or brings existing ones
 * to the plan's settings (update, never delete: a backlog survives a restart of the stack).
 */
export async function provisionLocal(
  pubsub: PubSub,
  plan: ResourcePlan,
  projectId: string,
  functionUrls: ReadonlyMap<string, string>,
): Promise<void> {
  for (const topic of plan.topics) {
    try {
      await pubsub.createTopic(topic);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
  }
  for (const sub of plan.subscriptions) {
    let endpoint: string | null = null;
    if (sub.pushTo) {
      const base = functionUrls.get(sub.pushTo);
      if (!base)
        throw new Error(
          `subscription ${sub.name} pushes to ${sub.pushTo}, which the local stack did not start`,
        );
      endpoint = pushEndpoint(base, projectId, sub.topic);
    }
    const settings = subscriptionSettings(sub, projectId, endpoint);
    try {
      await pubsub.createSubscription(sub.topic, sub.name, settings);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      const existing = pubsub.subscription(sub.name);
      const { pushConfig, ...rest } = settings as typeof settings & { pushConfig?: { pushEndpoint: string } };
      await existing.setMetadata(rest);
      await existing.modifyPushConfig(pushConfig ?? {});
    }
  }
}
