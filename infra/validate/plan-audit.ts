import type { ResourcePlan } from '../plan.ts';
import type { Drift } from './drift.ts';

/**
 * What makes delivery safe: every subscription dead-letters and retries with backoff, no ack
 * deadline under a timeout, every dead-letter topic read.
 */
export function auditPlan(plan: ResourcePlan): Drift[] {
  const drifts: Drift[] = [];
  const topics = new Set(plan.topics);
  const functions = new Map(plan.functions.map((f) => [f.name, f]));
  for (const sub of plan.subscriptions) {
    if (!topics.has(sub.topic))
      drifts.push({
        area: 'plan',
        message: `subscription ${sub.name} reads topic ${sub.topic}, which the plan does not create`,
      });
    if (!sub.pushTo) continue; // the last-resort hold is pulled by a person
    const fn = functions.get(sub.pushTo);
    if (!fn) {
      drifts.push({
        area: 'plan',
        message: `subscription ${sub.name} pushes to ${sub.pushTo}, which the plan does not deploy`,
      });
      continue;
    }
    if (!sub.deadLetter)
      drifts.push({
        area: 'plan',
        message: `subscription ${sub.name} has no dead-letter policy: after its retries a message would be redelivered forever or dropped`,
      });
    else if (!topics.has(sub.deadLetter.topic))
      drifts.push({
        area: 'plan',
        message: `subscription ${sub.name} dead-letters to ${sub.deadLetter.topic}, which the plan does not create`,
      });
    if (!sub.retryPolicy)
      drifts.push({
        area: 'plan',
        message: `subscription ${sub.name} has no retry policy (immediate redelivery hammers a failing dependency)`,
      });
    if (sub.ackDeadlineSeconds <= fn.timeoutSeconds)
      drifts.push({
        area: 'plan',
        message:
          `subscription ${sub.name} ack deadline ${sub.ackDeadlineSeconds}s is not above ${fn.name}'s timeout ` +
          `${fn.timeoutSeconds}s: a slow run is redelivered while it runs`,
      });
    if (fn.trigger.kind !== 'pubsub' || !fn.trigger.topics.includes(sub.topic))
      drifts.push({
        area: 'plan',
        message: `subscription ${sub.name} pushes ${sub.topic} to ${fn.name}, whose trigger does not list that topic`,
      });
  }
  const deadLetterTopics = new Set(
    plan.subscriptions.flatMap((s) => (s.deadLetter ? [s.deadLetter.topic] : [])),
  );
  for (const topic of deadLetterTopics) {
    if (!plan.subscriptions.some((s) => s.topic === topic))
      drifts.push({
        area: 'plan',
        message: `dead-letter topic ${topic} has no subscription: what lands there is lost`,
      });
  }
  for (const topic of plan.topics) {
    if (!plan.subscriptions.some((s) => s.topic === topic))
      drifts.push({
        area: 'plan',
        message: `topic ${topic} has no subscription: what is published there is lost`,
      });
  }
  for (const fn of plan.functions) {
    if (fn.trigger.kind !== 'pubsub') continue;
    for (const topic of fn.trigger.topics) {
      if (!plan.subscriptions.some((s) => s.topic === topic && s.pushTo === fn.name))
        drifts.push({
          area: 'plan',
          message: `${fn.name} is triggered by ${topic}, but no subscription pushes it there`,
        });
    }
  }
  for (const job of plan.schedules) {
    if (!topics.has(job.topic))
      drifts.push({
        area: 'plan',
        message: `scheduler job ${job.name} publishes to ${job.topic}, which the plan does not create`,
      });
  }
  return drifts;
}
