// Logic faults on what has run: a late dead letter of a completed request, a scheduled
// "yesterday" request dead-lettered the day after the date it was for, an oversized poison
// message and a request id that is a document path.
import type { LoadedDefinition } from '../../shared/definition/load.ts';
import { newTraceparent } from '../../shared/messages/fields.ts';
import { makeRequestId, phaseDeadLetterTopic, phaseTopic, TOPICS } from '../../shared/messages/messages.ts';
import { runRequestEntryId, runRequestKey } from '../../shared/messages/run-request-key.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { ORCHESTRATOR_DLQ_TOPIC, subscriptionName } from '../../infra/plan.ts';
import type { ChaosContext } from './context.ts';
import type { FaultPlan } from './fault-plan.ts';
import type { Pipeline } from './pipeline.ts';

export interface LogicFaults {
  /** The request whose late dead letter was published. */
  lateRequestId: string | null;
  /** The queue entry the dead-lettered scheduled request must leave. */
  relativeEntry: string | null;
  /** Message ids of the oversized poison and of the request whose id has a slash. */
  oversized: string[];
  slashed: string[];
}

/** A message as Pub/Sub dead-letters it from `source`'s subscription, first published at `publishTime`. */
function deadLetter(p: Pipeline, topic: string, source: string, json: unknown, publishTime: string) {
  const subscription = `projects/${p.stack.projectId}/subscriptions/${subscriptionName(source)}`;
  return p.stack.pubsub.topic(topic).publishMessage({
    json,
    attributes: {
      CloudPubSubDeadLetterSourceSubscription: subscription,
      CloudPubSubDeadLetterSourceDeliveryCount: '5',
      CloudPubSubDeadLetterSourceTopicPublishTime: publishTime,
    },
  });
}

/** A request of a date's current run that succeeded (an old run's would be superseded, not late). */
async function lateDeadLetter(
  ctx: ChaosContext,
  p: Pipeline,
  definition: LoadedDefinition,
  plan: FaultPlan,
  statuses: ReadonlyMap<string, string>,
): Promise<string | null> {
  const phaseOfTopic = new Map(definition.phases.map((ph) => [phaseTopic(ph.id), ph.id]));
  const holders = new Map(
    (await p.store.query(COLLECTIONS.runLocks, {})).map((d) => [d.id, String(d.data.runId)]),
  );
  const done = (
    await p.store.query(COLLECTIONS.outbox, { filters: [{ field: 'status', op: '==', value: 'sent' }] })
  )
    .map((d) => d.data as { topic: string; runId: string; message: { requestId: string; partition: string } })
    .filter(
      (e) =>
        phaseOfTopic.has(e.topic) &&
        e.message.partition !== plan.shortDate &&
        statuses.get(e.message.partition) === 'SUCCESS' &&
        holders.get(e.message.partition) === e.runId,
    );
  const late = done.length ? ctx.random.pick(done) : undefined;
  if (!late) return null;
  const dlq = phaseDeadLetterTopic(phaseOfTopic.get(late.topic)!);
  await deadLetter(p, dlq, late.topic, late.message, new Date(Date.now() - 60_000).toISOString());
  ctx.tally.count('late dead letter', 'injected');
  return late.message.requestId;
}

export async function injectLogicFaults(
  ctx: ChaosContext,
  p: Pipeline,
  definition: LoadedDefinition,
  plan: FaultPlan,
  statuses: ReadonlyMap<string, string>,
  dates: readonly string[],
): Promise<LogicFaults> {
  const { random, tally } = ctx;
  const lateRequestId = ctx.enabled('late dead letter')
    ? await lateDeadLetter(ctx, p, definition, plan, statuses)
    : null;
  let relativeEntry: string | null = null;
  if (plan.relativeDate) {
    const dayAfter = new Date(Date.parse(`${plan.relativeDate}T12:00:00Z`) + 86_400_000).toISOString();
    const scheduled = { relative: -1, timeZone: 'UTC', triggerSource: 'scheduled' };
    await deadLetter(p, ORCHESTRATOR_DLQ_TOPIC, TOPICS.runRequests, scheduled, dayAfter);
    relativeEntry = runRequestEntryId(
      runRequestKey({ partition: plan.relativeDate, triggerSource: 'scheduled' }),
    );
    tally.count('dead-lettered scheduled request', 'injected');
  }
  const oversized: string[] = [];
  if (ctx.enabled('oversized poison')) {
    const phase = random.pick(definition.phases);
    // Over Firestore's 1 MiB document limit, under Pub/Sub's 10 MB message limit.
    const json = { requestId: 'oversized', padding: 'x'.repeat(1_500_000) };
    oversized.push(await p.stack.pubsub.topic(phaseTopic(phase.id)).publishMessage({ json }));
    tally.count('oversized poison', 'injected');
  }
  const slashed: string[] = [];
  if (ctx.enabled('id with /')) {
    const phase = random.pick(definition.phases);
    const processor = random.pick(phase.processors).name;
    const runId = 'chaos/run';
    const json = {
      runId,
      requestId: makeRequestId({ runId, phase: phase.id, processor }),
      partition: dates[0],
      phase: phase.id,
      processor,
      triggerSource: 'manual',
      parentEventId: null,
      traceparent: newTraceparent(),
    };
    slashed.push(await p.stack.pubsub.topic(phaseTopic(phase.id)).publishMessage({ json }));
    tally.count('id with /', 'injected');
  }
  return { lateRequestId, relativeEntry, oversized, slashed };
}
