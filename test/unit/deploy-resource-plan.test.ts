import { describe, expect, it } from 'vitest';
import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { auditPlan } from '../../infra/validate/plan-audit.ts';
import { localJobs } from '../../scripts/lib/local-scheduler.ts';
import { plan } from '../support/demo-deploy.ts';

describe('the resource plan of the reference definition', () => {
  it('has no drift: every subscription dead-letters, retries, and outlasts its function; every dead-letter topic is read', () => {
    expect(auditPlan(plan)).toEqual([]);
  });

  it('catches a subscription without DLQ, an ack deadline under the timeout, and an unread dead-letter topic', () => {
    const broken = structuredClone(plan);
    broken.subscriptions[0]!.deadLetter = null;
    broken.subscriptions[1]!.ackDeadlineSeconds = 30;
    broken.subscriptions = broken.subscriptions.filter((s) => s.topic !== 'phase-raw-dlq');
    const messages = auditPlan(broken).map((d) => d.message);
    expect(messages).toContain(
      'subscription run-requests-sub has no dead-letter policy: after its retries a message would be redelivered forever or dropped',
    );
    expect(messages).toContain(
      "subscription processor-completions-sub ack deadline 30s is not above orchestrator-completions's " +
        'timeout 60s: a slow run is redelivered while it runs',
    );
    expect(messages).toContain(
      'dead-letter topic phase-raw-dlq has no subscription: what lands there is lost',
    );
  });
});

describe('the local scheduler', () => {
  it('publishes the same bodies to the same topics as Cloud Scheduler, on the local periods', () => {
    const local = localJobs(referenceDefinition);
    expect(local.map((j) => ({ topic: j.topic, body: j.message() }))).toEqual(
      plan.schedules.map((j) => ({ topic: j.topic, body: j.body })),
    );
    expect(local.find((j) => j.name === 'reconcile')?.everySeconds).toBe(
      referenceDefinition.schedules.reconcile.localEverySeconds,
    );
  });
});
