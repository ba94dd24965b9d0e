import type { ResourcePlan, SchedulePlan, SubscriptionPlan } from '../plan.ts';
import { functionUrl, pushEndpointUrl, serviceAccountEmail } from '../deploy/target.ts';
import type { Drift } from './drift.ts';
import type { LiveInvokers, LiveScheduleJob, LiveState, LiveSubscription } from './live-state.ts';
import { describeHeld } from '../../shared/ports/held-messages.ts';

export interface LiveAuditTarget {
  project: string;
  /** Set for a real project: push endpoints and their OIDC settings are checked exactly. */
  region?: string;
}

const fmt = {
  retry: (r: SubscriptionPlan['retryPolicy']) =>
    r ? `${r.minBackoffSeconds}s..${r.maxBackoffSeconds}s` : 'none',
  dlq: (d: SubscriptionPlan['deadLetter']) =>
    d ? `${d.topic} after ${d.maxDeliveryAttempts} attempts` : 'none',
};

function auditSubscription(want: SubscriptionPlan, have: LiveSubscription, target: LiveAuditTarget): Drift[] {
  const drifts: Drift[] = [];
  const say = (message: string) =>
    drifts.push({ area: 'subscriptions', message: `${want.name}: ${message}` });
  if (have.topic !== want.topic) say(`reads topic ${have.topic} (live), plan: ${want.topic}`);
  if (have.ackDeadlineSeconds !== want.ackDeadlineSeconds)
    say(`ack deadline ${have.ackDeadlineSeconds}s (live), plan: ${want.ackDeadlineSeconds}s`);
  if (fmt.retry(have.retryPolicy) !== fmt.retry(want.retryPolicy))
    say(`retry policy ${fmt.retry(have.retryPolicy)} (live), plan: ${fmt.retry(want.retryPolicy)}`);
  if (fmt.dlq(have.deadLetter) !== fmt.dlq(want.deadLetter))
    say(`dead-letter policy ${fmt.dlq(have.deadLetter)} (live), plan: ${fmt.dlq(want.deadLetter)}`);
  if (!want.pushTo) {
    if (have.pushEndpoint)
      say(`pushes to ${have.pushEndpoint} (live), plan: a pull subscription held for a person`);
    return drifts;
  }
  if (!have.pushEndpoint) {
    say(`is a pull subscription (live), plan: push to ${want.pushTo}`);
    return drifts;
  }
  if (target.region) {
    const endpoint = pushEndpointUrl(
      { project: target.project, region: target.region },
      want.pushTo,
      want.topic,
    );
    if (have.pushEndpoint !== endpoint) say(`pushes to ${have.pushEndpoint} (live), plan: ${endpoint}`);
    const oidc = {
      serviceAccountEmail: serviceAccountEmail(target, 'push'),
      audience: functionUrl({ project: target.project, region: target.region }, want.pushTo),
    };
    if (have.oidc?.serviceAccountEmail !== oidc.serviceAccountEmail || have.oidc.audience !== oidc.audience) {
      say(
        `push authentication ${have.oidc ? `${have.oidc.serviceAccountEmail} for ${have.oidc.audience}` : 'none'} ` +
          `(live), plan: OIDC as ${oidc.serviceAccountEmail} for ${oidc.audience}`,
      );
    }
  } else if (!have.pushEndpoint.endsWith(`/projects/${target.project}/topics/${want.topic}`)) {
    say(
      `pushes to ${have.pushEndpoint} (live), plan: <${want.pushTo} URL>/projects/${target.project}/topics/${want.topic}`,
    );
  }
  return drifts;
}

/** The members whose invoker role would let anyone past Cloud Run IAM, where the functions trust it (PHASEGATE_AUTH=iam). */
const PUBLIC_MEMBERS = ['allUsers', 'allAuthenticatedUsers'];

function auditInvokers(plan: ResourcePlan, invokers: LiveInvokers, target: LiveAuditTarget): Drift[] {
  const drifts: Drift[] = [];
  const pushAccount = `serviceAccount:${serviceAccountEmail(target, 'push')}`;
  for (const fn of plan.functions) {
    const members = invokers[fn.name] ?? [];
    const open = members.filter((m) => PUBLIC_MEMBERS.includes(m));
    if (open.length) {
      drifts.push({
        area: 'iam',
        message:
          `${fn.name} may be invoked by ${open.join(', ')} (live), plan: only its invokers. Behind Cloud ` +
          `Run IAM the function trusts the tokens IAM checked: public, anyone can forge one. Remove: gcloud ` +
          `functions remove-invoker-policy-binding ${fn.name} --member=${open[0]} --region=${target.region} --project=${target.project}`,
      });
    }
    if (fn.trigger.kind === 'pubsub' && !members.includes(pushAccount)) {
      drifts.push({
        area: 'iam',
        message: `${fn.name}: ${pushAccount} may not invoke it (live), plan: it may (without it every push is refused and dead-lettered)`,
      });
    }
  }
  return drifts;
}

function auditSchedules(
  want: readonly SchedulePlan[],
  have: readonly LiveScheduleJob[],
  target: LiveAuditTarget,
): Drift[] {
  const drifts: Drift[] = [];
  for (const job of want) {
    const live = have.find((j) => j.name === job.name);
    if (!live) {
      drifts.push({
        area: 'scheduler',
        message: `job ${job.name} (plan: "${job.cron}" ${job.timeZone} to ${job.topic}) does not exist`,
      });
      continue;
    }
    const body = JSON.stringify(job.body);
    if (live.schedule !== job.cron || live.timeZone !== job.timeZone)
      drifts.push({
        area: 'scheduler',
        message: `job ${job.name} runs "${live.schedule}" ${live.timeZone} (live), plan: "${job.cron}" ${job.timeZone}`,
      });
    const topic = `projects/${target.project}/topics/${job.topic}`;
    if (live.topic !== topic)
      drifts.push({
        area: 'scheduler',
        message: `job ${job.name} publishes to ${live.topic} (live), plan: ${topic}`,
      });
    if (live.body !== body)
      drifts.push({
        area: 'scheduler',
        message: `job ${job.name} publishes ${live.body} (live), plan: ${body}`,
      });
  }
  return drifts;
}

/** Compares what exists with the plan; every drift says what is live and what the plan wants. */
export function auditLive(plan: ResourcePlan, live: LiveState, target: LiveAuditTarget): Drift[] {
  const drifts: Drift[] = [];
  for (const topic of plan.topics)
    if (!live.topics.includes(topic))
      drifts.push({ area: 'topics', message: `topic ${topic} does not exist (plan: created by deploy)` });
  const planned = new Map(plan.subscriptions.map((s) => [s.name, s]));
  for (const want of plan.subscriptions) {
    const have = live.subscriptions.find((s) => s.name === want.name);
    if (!have)
      drifts.push({
        area: 'subscriptions',
        message:
          `${want.name} does not exist (plan: ` +
          `${want.pushTo ? `push ${want.topic} to ${want.pushTo}` : `hold ${want.topic}`}, dead-letter ${fmt.dlq(want.deadLetter)})`,
      });
    else drifts.push(...auditSubscription(want, have, target));
  }
  // A subscription nobody planned on one of our topics: a consumer outside the contract.
  for (const have of live.subscriptions) {
    if (planned.has(have.name) || !plan.topics.includes(have.topic)) continue;
    const policy = plan.subscriptions.find((s) => s.topic === have.topic)?.deadLetter ?? null;
    drifts.push({
      area: 'subscriptions',
      message:
        `${have.name} on topic ${have.topic} is not in the plan` +
        (have.deadLetter
          ? ''
          : `, and has no dead-letter policy (live: none; plan: every subscription ` +
            `dead-letters${policy ? `, as ${have.topic}-sub does to ${fmt.dlq(policy)}` : ''})`),
    });
  }
  if (live.schedules) drifts.push(...auditSchedules(plan.schedules, live.schedules, target));
  if (live.invokers) drifts.push(...auditInvokers(plan, live.invokers, target));
  if (live.controlDlq && live.controlDlq.count > 0)
    drifts.push({ area: 'control-dlq', message: describeHeld(live.controlDlq) });
  return drifts;
}
