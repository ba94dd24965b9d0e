import { CONTROL_DLQ_SUBSCRIPTION } from '../../shared/messages/messages.ts';
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import type { ResourcePlan } from '../plan.ts';
import { deadLetterTopics, functionUrl, publishedTopics, pushEndpointUrl } from './target.ts';
import { ref, tfName, type Block, type TerraformScope } from './terraform-scope.ts';

/** The topics; the functions publish where they do, the service agent its dead letters. */
export function addTopics(scope: TerraformScope, definition: LoadedDefinition, plan: ResourcePlan): void {
  const { add, project, apis } = scope;
  for (const topic of plan.topics)
    add('google_pubsub_topic', topic, { project, name: topic, depends_on: apis });
  for (const topic of publishedTopics(definition))
    add('google_pubsub_topic_iam_member', `${topic}_runtime_publisher`, {
      project,
      topic: ref('google_pubsub_topic', topic, 'name'),
      role: 'roles/pubsub.publisher',
      member: `serviceAccount:${scope.runtimeSa}`,
    });
  for (const topic of deadLetterTopics(plan))
    add('google_pubsub_topic_iam_member', `${topic}_agent_publisher`, {
      project,
      topic: ref('google_pubsub_topic', topic, 'name'),
      role: 'roles/pubsub.publisher',
      member: scope.agent,
      depends_on: scope.agentReady,
    });
}

/** The subscriptions: pushed to their function with an OIDC token, or held for a person (control-dlq). */
export function addSubscriptions(scope: TerraformScope, plan: ResourcePlan): void {
  const { add, project, target } = scope;
  for (const sub of plan.subscriptions) {
    const body: Block = {
      project,
      name: sub.name,
      topic: ref('google_pubsub_topic', sub.topic, 'id'),
      ack_deadline_seconds: sub.ackDeadlineSeconds,
    };
    if (sub.pushTo) {
      body.push_config = {
        push_endpoint: pushEndpointUrl(target, sub.pushTo, sub.topic),
        oidc_token: { service_account_email: scope.pushSa, audience: functionUrl(target, sub.pushTo) },
      };
      body.depends_on = [`google_cloudfunctions2_function.${tfName(sub.pushTo)}`];
    } else {
      Object.assign(body, { message_retention_duration: '604800s', expiration_policy: { ttl: '' } });
    }
    if (sub.retryPolicy)
      body.retry_policy = {
        minimum_backoff: `${sub.retryPolicy.minBackoffSeconds}s`,
        maximum_backoff: `${sub.retryPolicy.maxBackoffSeconds}s`,
      };
    if (sub.deadLetter) {
      body.dead_letter_policy = {
        dead_letter_topic: ref('google_pubsub_topic', sub.deadLetter.topic, 'id'),
        max_delivery_attempts: sub.deadLetter.maxDeliveryAttempts,
      };
      // The service agent acks, on the source subscription, the message it dead-letters.
      add('google_pubsub_subscription_iam_member', `${sub.name}_agent_subscriber`, {
        project,
        subscription: ref('google_pubsub_subscription', sub.name, 'name'),
        role: 'roles/pubsub.subscriber',
        member: scope.agent,
        depends_on: scope.agentReady,
      });
    }
    add('google_pubsub_subscription', sub.name, body);
  }

  // The reconcile tick (an alert) and the dashboard peek control-dlq: pull, then hand back at once.
  add('google_pubsub_subscription_iam_member', `${CONTROL_DLQ_SUBSCRIPTION}_runtime_subscriber`, {
    project,
    subscription: ref('google_pubsub_subscription', CONTROL_DLQ_SUBSCRIPTION, 'name'),
    role: 'roles/pubsub.subscriber',
    member: `serviceAccount:${scope.runtimeSa}`,
  });
}
