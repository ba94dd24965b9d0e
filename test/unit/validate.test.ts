import { describe, expect, it } from 'vitest';
import { referenceDefinition, referenceDefinitionInput } from '../../functions/pipeline/definition.ts';
import { createReferenceProcessors } from '../../functions/pipeline/processors.ts';
import { MemoryStore } from '../../shared/testing/memory-store.ts';
import { declaredIndexes } from '../../shared/adapters/declared-indexes.ts';
import { loadDefinition } from '../../shared/definition/load.ts';
import { runAutoRetryTick } from '../../shared/recovery/auto-retry.ts';
import { compositeIndexFor, createIndexGuard, MissingIndexError } from '../../shared/store/indexes.ts';
import { createMemoryLogger } from '../../shared/lib/logger.ts';
import { MemoryPublisher } from '../../shared/testing/memory-publisher.ts';
import { planResources } from '../../infra/plan.ts';
import { auditLive } from '../../infra/validate/live-audit.ts';
import {
  parseInvokers,
  parseSchedulerJobs,
  type LiveState,
  type LiveSubscription,
} from '../../infra/validate/live-state.ts';
import { requiredIndexes } from '../../infra/validate/queries.ts';
import { auditReadme, readmeTableKeys } from '../../infra/validate/readme-audit.ts';
import { auditExpectations, auditIndexes, auditRegistry } from '../../infra/validate/static-audit.ts';
import { referenceExpectations } from '../../functions/pipeline/gate-expectations.ts';
import { readFileSync } from 'node:fs';
import { testDefinition } from '../fixtures/test-pipeline/definition.ts';
import { manualClock } from '../support/factories.ts';

const registry = createReferenceProcessors({ sourceApiUrl: 'http://validate.invalid' });
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('static audit', () => {
  it('finds no drift in the reference pipeline', () => {
    expect(auditRegistry(referenceDefinition, registry)).toEqual([]);
    expect(auditExpectations(referenceDefinition, referenceExpectations)).toEqual([]);
    expect(auditReadme(readme, referenceDefinition, planResources(referenceDefinition))).toEqual([]);
    expect(auditIndexes(referenceDefinition, declaredIndexes(), requiredIndexes())).toEqual([]);
  });

  it('names the config entry and the registry entry when a processor is renamed on one side only ("Phase 2: 1/6 complete")', () => {
    const renamed = structuredClone(referenceDefinitionInput) as {
      phases: { processors: { name: string }[] }[];
    };
    renamed.phases[1]!.processors[1]!.name = 'normalise-team-stats';
    const drifts = auditRegistry(loadDefinition(renamed), registry);
    expect(drifts).toEqual([
      {
        area: 'registry',
        message:
          'definition phases[raw].processors[1] names "normalise-team-stats", which the processor registry does not have; the registry has "normalize-team-stats", which no phase names (renamed on one side only?)',
      },
    ]);
  });

  it('finds an output with no expectation, and an expectation of an output no processor declares', () => {
    const grown = structuredClone(referenceDefinitionInput) as {
      phases: { processors: { outputs: { collection: string; partitionField?: string }[] }[] }[];
    };
    grown.phases[1]!.processors[0]!.outputs.push({
      collection: 'game_officials',
      partitionField: 'gameDate',
    });
    grown.phases[2]!.processors[1]!.outputs[0]!.partitionField = 'seriesDate';
    expect(auditExpectations(loadDefinition(grown), referenceExpectations).map((d) => d.message)).toEqual([
      'phases[raw].processors[normalize-games] writes game_officials (gameDate), for which the expectations name no minimum: its gate would fail closed; add raw.game_officials.gameDate (0 if nothing is expected)',
      'phases[analytics].processors[series-state] writes series_state (seriesDate), for which the expectations name no minimum: its gate would fail closed; add analytics.series_state.seriesDate (0 if nothing is expected)',
      'the expectations of analytics name series_state (gameDate), which no processor of analytics declares as an output: it checks nothing; the phase writes series_state.seriesDate',
    ]);
    expect(
      auditExpectations(referenceDefinition, { table: { ...referenceExpectations.table, predcit: {} } }).map(
        (d) => d.message,
      ),
    ).toEqual([
      'the expectations name phase "predcit", which the definition does not have; it has "predict"',
    ]);
  });

  it('finds a registry entry no phase names', () => {
    expect(
      auditRegistry(referenceDefinition, { ...registry, 'orphan-processor': registry['team-form'] }).map(
        (d) => d.message,
      ),
    ).toEqual([
      'the processor registry has "orphan-processor", which no phase of the definition names: it would never run',
    ]);
  });

  it("finds README's contract tables out of step with the code, naming both sides", () => {
    const stale = readme
      .replace(/^\| `reconcile-ticks` .*\n/m, '')
      .replace('| `alerts` |', '| `alert_log` |');
    const messages = auditReadme(stale, referenceDefinition, planResources(referenceDefinition)).map(
      (d) => d.message,
    );
    expect(messages).toContain(
      'topic reconcile-ticks exists in the code, but README\'s "### Topics" table does not list it',
    );
    expect(messages).toContain(
      'collection alerts exists in the code, but README\'s "### Collections" table does not list it',
    );
    expect(messages).toContain(
      'README\'s "### Collections" table lists alert_log, which the code does not have',
    );
    expect(readmeTableKeys(readme, '### Topics')).toContain('phase-<phaseId>');
  });

  it('finds a missing, duplicated or stale index', () => {
    const [queueIndex, outboxIndex] = requiredIndexes();
    const messages = auditIndexes(
      referenceDefinition,
      [outboxIndex!, outboxIndex!, { ...outboxIndex!, collectionGroup: 'outbox_v1' }],
      requiredIndexes(),
    ).map((d) => d.message);
    expect(messages).toEqual([
      'firestore.indexes.json declares outbox (status asc, createdAt asc) twice',
      'firestore.indexes.json has an index on outbox_v1, a collection neither the kit nor the definition has (renamed?)',
      'the code queries failed_processor_queue (status asc, nextRetryAt asc), which firestore.indexes.json does not declare: production Firestore refuses that query',
    ]);
    expect(queueIndex!.collectionGroup).toBe('failed_processor_queue');
  });
});

describe('index guard (production Firestore refuses a query without its composite index)', () => {
  it('needs a composite only where a range or order meets another field', () => {
    expect(
      compositeIndexFor('runs', {
        filters: [
          { field: 'partition', op: '==', value: 'x' },
          { field: 'status', op: '==', value: 'y' },
        ],
      }),
    ).toBeNull();
    expect(
      compositeIndexFor('runs', { orderBy: { field: 'createdAt', direction: 'desc' }, limit: 5 }),
    ).toBeNull();
    expect(compositeIndexFor('runs', { filters: [{ field: 'createdAt', op: '>=', value: 'x' }] })).toBeNull();
    expect(
      compositeIndexFor('runs', {
        filters: [{ field: 'status', op: '==', value: 'x' }],
        orderBy: { field: 'createdAt', direction: 'desc' },
      }),
    ).toMatchObject({
      fields: [
        { fieldPath: 'status', order: 'ASCENDING' },
        { fieldPath: 'createdAt', order: 'DESCENDING' },
      ],
    });
  });

  it('refuses such a query when no declared index serves it, and accepts the equality fields in any order', () => {
    const guard = createIndexGuard([
      {
        collectionGroup: 'c',
        queryScope: 'COLLECTION',
        fields: [
          { fieldPath: 'b', order: 'ASCENDING' },
          { fieldPath: 'a', order: 'ASCENDING' },
          { fieldPath: 't', order: 'ASCENDING' },
        ],
      },
    ]);
    expect(() =>
      guard('c', {
        filters: [
          { field: 'a', op: '==', value: 1 },
          { field: 'b', op: '==', value: 2 },
          { field: 't', op: '<', value: 3 },
        ],
      }),
    ).not.toThrow();
    expect(() =>
      guard('c', {
        filters: [
          { field: 'a', op: '==', value: 1 },
          { field: 't', op: '<', value: 3 },
        ],
      }),
    ).toThrow(MissingIndexError);
    expect(() =>
      guard('c', {
        filters: [
          { field: 'a', op: '==', value: 1 },
          { field: 'b', op: '==', value: 2 },
        ],
        orderBy: { field: 't', direction: 'desc' },
      }),
    ).toThrow(/c \(a asc, b asc, t desc\)/);
  });

  it('makes the auto-retry tick fail on a store without the queue index, as production would', async () => {
    const deps = {
      definition: testDefinition,
      publisher: new MemoryPublisher(),
      clock: manualClock(),
      logger: createMemoryLogger(),
    };
    await expect(runAutoRetryTick({ ...deps, store: new MemoryStore({ indexes: [] }) })).rejects.toThrow(
      /FAILED_PRECONDITION: The query requires an index: failed_processor_queue \(status asc, nextRetryAt asc\)/,
    );
    await expect(runAutoRetryTick({ ...deps, store: new MemoryStore() })).resolves.toMatchObject({
      retried: 0,
    });
  });
});

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
      'debug-tap on topic phase-raw is not in the plan, and has no dead-letter policy (live: none; plan: every subscription dead-letters, as phase-raw-sub does to phase-raw-dlq after 5 attempts)',
      `job phasegate-run runs "0 9 * * *" ${referenceDefinition.schedules.run.timeZone} (live), plan: "${referenceDefinition.schedules.run.cron}" ${referenceDefinition.schedules.run.timeZone}`,
    ]);
  });

  it('on a real project, checks push endpoints and their OIDC identity exactly', () => {
    const live = asLive();
    const messages = auditLive(plan, live, { project: 'p', region: 'europe-west1' }).map((d) => d.message);
    expect(messages).toContain(
      'run-requests-sub: pushes to http://127.0.0.1:9000/projects/p/topics/run-requests (live), plan: https://europe-west1-p.cloudfunctions.net/orchestrator-runs/projects/p/topics/run-requests',
    );
    expect(messages).toContain(
      'run-requests-sub: push authentication none (live), plan: OIDC as phasegate-push@p.iam.gserviceaccount.com for https://europe-west1-p.cloudfunctions.net/orchestrator-runs',
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
      /^phase-raw may be invoked by allUsers \(live\), plan: only its invokers\. .*anyone can forge one\. Remove: gcloud functions remove-invoker-policy-binding phase-raw --member=allUsers/,
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
