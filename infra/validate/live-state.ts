import type { PubSub } from '@google-cloud/pubsub';
import type { HeldMessages } from '../../shared/ports/held-messages.ts';

/** A subscription as Pub/Sub reports it, in the units the plan uses. */
export interface LiveSubscription {
  name: string;
  topic: string;
  pushEndpoint: string | null;
  oidc: { serviceAccountEmail: string; audience: string } | null;
  ackDeadlineSeconds: number;
  retryPolicy: { minBackoffSeconds: number; maxBackoffSeconds: number } | null;
  deadLetter: { topic: string; maxDeliveryAttempts: number } | null;
}

export interface LiveScheduleJob {
  name: string;
  schedule: string;
  timeZone: string;
  /** The full name, `projects/<project>/topics/<topic>`: a job may publish to another project's topic. */
  topic: string;
  body: string;
}

/** Members holding `roles/run.invoker` on each function's Cloud Run service. */
export type LiveInvokers = Record<string, string[]>;

export interface LiveState {
  topics: string[];
  subscriptions: LiveSubscription[];
  /** null where there is no scheduler to ask (the emulators: the local scheduler runs in-process). */
  schedules: LiveScheduleJob[] | null;
  /** null where there is no Cloud Run (the emulators). */
  invokers?: LiveInvokers | null;
  /** What control-dlq holds: anything there is a failure nobody else reports. */
  controlDlq?: HeldMessages | null;
}

const lastSegment = (name: string | null | undefined) => (name ?? '').split('/').pop() ?? '';
const seconds = (d: { seconds?: unknown } | null | undefined) => Number(d?.seconds ?? 0);

/** Reads topics and subscriptions (with their policies) from Pub/Sub: the emulator or a real project. */
export async function readPubSub(pubsub: PubSub): Promise<Pick<LiveState, 'topics' | 'subscriptions'>> {
  const [topics] = await pubsub.getTopics();
  const [subscriptions] = await pubsub.getSubscriptions();
  return {
    topics: topics.map((t) => lastSegment(t.name)),
    subscriptions: subscriptions.map((s): LiveSubscription => {
      const m = s.metadata ?? {};
      const oidc = m.pushConfig?.oidcToken;
      return {
        name: lastSegment(s.name),
        topic: lastSegment(typeof m.topic === 'string' ? m.topic : null),
        pushEndpoint: m.pushConfig?.pushEndpoint || null,
        oidc: oidc?.serviceAccountEmail
          ? { serviceAccountEmail: oidc.serviceAccountEmail, audience: oidc.audience ?? '' }
          : null,
        ackDeadlineSeconds: Number(m.ackDeadlineSeconds ?? 0),
        retryPolicy: m.retryPolicy
          ? {
              minBackoffSeconds: seconds(m.retryPolicy.minimumBackoff),
              maxBackoffSeconds: seconds(m.retryPolicy.maximumBackoff),
            }
          : null,
        deadLetter: m.deadLetterPolicy?.deadLetterTopic
          ? {
              topic: lastSegment(m.deadLetterPolicy.deadLetterTopic),
              maxDeliveryAttempts: Number(m.deadLetterPolicy.maxDeliveryAttempts ?? 0),
            }
          : null,
      };
    }),
  };
}

/** `gcloud scheduler jobs list --format=json`, in the fields the audit compares. */
export function parseSchedulerJobs(json: string): LiveScheduleJob[] {
  const jobs = JSON.parse(json) as {
    name?: string;
    schedule?: string;
    timeZone?: string;
    pubsubTarget?: { topicName?: string; data?: string };
  }[];
  return jobs.map((j) => ({
    name: lastSegment(j.name),
    schedule: j.schedule ?? '',
    timeZone: j.timeZone ?? 'Etc/UTC',
    topic: j.pubsubTarget?.topicName ?? '',
    body: j.pubsubTarget?.data ? Buffer.from(j.pubsubTarget.data, 'base64').toString('utf8') : '',
  }));
}

/** `gcloud run services get-iam-policy <function> --format=json`: the members with roles/run.invoker. */
export function parseInvokers(json: string): string[] {
  const policy = JSON.parse(json) as { bindings?: { role?: string; members?: string[] }[] };
  return (policy.bindings ?? [])
    .filter((b) => b.role === 'roles/run.invoker')
    .flatMap((b) => b.members ?? []);
}
