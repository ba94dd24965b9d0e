import { describe, expect, it } from 'vitest';
import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { planResources } from '../../infra/plan.ts';
import { auditLive } from '../../infra/validate/live-audit.ts';
import {
  parseInvokers,
  parseSchedulerJobs,
  type LiveState,
  type LiveSubscription,
} from '../../infra/validate/live-state.ts';

describe('live audit', () => {
  const plan = planResources(referenceDefinition);
  const asLive = (): LiveState => ({
    topics: [...plan.topics],
    subscriptions: plan.subscriptions.map((s): LiveSubscription => ({
      name: s.name,
      topic: s.topic,
      pushEndpoint: s.pushTo ? `http://127.0.0.1:9000/projects/p/topics/${s.topic}` : null,
      oidc: null,
      ackDeadlineSeconds: s.ackDeadlineSeconds,
      retryPolicy: s.retryPolicy,
      deadLetter: s.deadLetter,
    })),
    schedules: plan.schedules.map((j) => ({
      name: j.name,
      schedule: j.cron,
      timeZone: j.timeZone,
      topic: `projects/p/topics/${j.topic}`,
      body: JSON.stringify(j.body),
    })),
  });

  it('finds nothing when what exists is the plan', () => {
    expect(auditLive(plan, asLive(), { project: 'p' })).toEqual([]);
  });

  it('names what is live and what the plan wants', () => {
    const live = asLive();
    live.topics = live.topics.filter((t) => t !== 'phase-raw-dlq');
    live.subscriptions.find((s) => s.name === 'phase-raw-sub')!.deadLetter = null;
    live.subscriptions.find((s) => s.name === 'phase-scrape-sub')!.ackDeadlineSeconds = 10;
    live.subscriptions.push({
      name: 'debug-tap',
      topic: 'phase-raw',
      pushEndpoint: null,
      oidc: null,
      ackDeadlineSeconds: 10,
      retryPolicy: null,
      deadLetter: null,
    });
    live.schedules![0]!.schedule = '0 9 * * *';
    expect(auditLive(plan, live, { project: 'p' }).map((d) => d.message)).toEqual([
      'topic phase-raw-dlq does not exist (plan: created by deploy)',
      'phase-scrape-sub: ack deadline 10s (live), plan: 120s',
      'phase-raw-sub: dead-letter policy none (live), plan: phase-raw-dlq after 5 attempts',
      'debug-tap on topic phase-raw is not in the plan, and has no dead-letter policy (live: none; ' +
        'plan: every subscription dead-letters, as phase-raw-sub does to phase-raw-dlq after 5 attempts)',
      `job phasegate-run runs "0 9 * * *" ${referenceDefinition.schedules.run.timeZone} (live), ` +
        `plan: "${referenceDefinition.schedules.run.cron}" ${referenceDefinition.schedules.run.timeZone}`,
    ]);
  });

  it('on a real project, checks push endpoints and their OIDC identity exactly', () => {
    const live = asLive();
    const messages = auditLive(plan, live, { project: 'p', region: 'europe-west1' }).map((d) => d.message);
    expect(messages).toContain(
      'run-requests-sub: pushes to http://127.0.0.1:9000/projects/p/topics/run-requests (live), ' +
        'plan: https://europe-west1-p.cloudfunctions.net/orchestrator-runs/projects/p/topics/run-requests',
    );
    expect(messages).toContain(
      'run-requests-sub: push authentication none (live), ' +
        'plan: OIDC as phasegate-push@p.iam.gserviceaccount.com ' +
        'for https://europe-west1-p.cloudfunctions.net/orchestrator-runs',
    );
  });

  it('reads gcloud scheduler jobs', () => {
    const json = JSON.stringify([
      {
        name: 'projects/p/locations/europe-west1/jobs/phasegate-reconcile',
        schedule: '* * * * *',
        timeZone: 'UTC',
        pubsubTarget: {
          topicName: 'projects/p/topics/reconcile-ticks',
          data: Buffer.from('{}').toString('base64'),
        },
      },
    ]);
    expect(parseSchedulerJobs(json)).toEqual([
      {
        name: 'phasegate-reconcile',
        schedule: '* * * * *',
        timeZone: 'UTC',
        topic: 'projects/p/topics/reconcile-ticks',
        body: '{}',
      },
    ]);
  });

  it("finds a scheduler job publishing to another project's topic of the same name", () => {
    const live = asLive();
    live.schedules![0]!.topic = 'projects/someone-elses-project/topics/run-requests';
    expect(auditLive(plan, live, { project: 'p' }).map((d) => d.message)).toEqual([
      'job phasegate-run publishes to projects/someone-elses-project/topics/run-requests (live), plan: projects/p/topics/run-requests',
    ]);
  });

  it('on a real project, finds a function anyone may invoke, and a push function its push account may not', () => {
    const push = 'serviceAccount:phasegate-push@p.iam.gserviceaccount.com';
    const invokers = Object.fromEntries(
      plan.functions.map((f) => [f.name, f.trigger.kind === 'pubsub' ? [push] : ['group:data@example.com']]),
    );
    expect(auditLive(plan, { ...asLive(), invokers }, { project: 'p' })).toEqual([]);
    invokers['phase-raw'] = [push, 'allUsers'];
    invokers['dlq-recorder'] = [];
    invokers.dashboard = ['allAuthenticatedUsers'];
    const messages = auditLive(plan, { ...asLive(), invokers }, { project: 'p', region: 'europe-west1' })
      .filter((d) => d.area === 'iam')
      .map((d) => d.message);
    expect(messages).toHaveLength(3);
    expect(messages[0]).toMatch(
      new RegExp(
        String.raw`^phase-raw may be invoked by allUsers \(live\), plan: only its invokers\. ` +
          String.raw`.*anyone can forge one\. ` +
          String.raw`Remove: gcloud functions remove-invoker-policy-binding phase-raw --member=allUsers`,
      ),
    );
    expect(messages[1]).toBe(
      `dlq-recorder: ${push} may not invoke it (live), plan: it may (without it every push is refused and dead-lettered)`,
    );
    expect(messages[2]).toMatch(/^dashboard may be invoked by allAuthenticatedUsers/);
  });

  it('reads the invokers of a Cloud Run policy', () => {
    const json = JSON.stringify({
      bindings: [
        { role: 'roles/run.invoker', members: ['allUsers', 'user:a@b.co'] },
        { role: 'roles/run.admin', members: ['user:c@d.co'] },
      ],
      etag: 'x',
    });
    expect(parseInvokers(json)).toEqual(['allUsers', 'user:a@b.co']);
    expect(parseInvokers('{}')).toEqual([]);
  });
});
