import { describe, expect, it } from 'vitest';
import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { terraformPlan } from '../../infra/deploy/terraform.ts';
import { indexes, plan, PUSH_SA, target } from '../support/demo-deploy.ts';

describe('the Terraform plan', () => {
  const tf = terraformPlan(referenceDefinition, target, indexes) as {
    resource: Record<string, Record<string, Record<string, unknown>>>;
  };
  const subs = Object.values(tf.resource.google_pubsub_subscription!);

  it('has the same subscriptions, each pushing with OIDC, retrying and dead-lettering', () => {
    expect(subs.map((s) => s.name).sort()).toEqual(plan.subscriptions.map((s) => s.name).sort());
    for (const sub of subs.filter((s) => s.push_config)) {
      expect(sub).toMatchObject({
        push_config: { oidc_token: { service_account_email: PUSH_SA } },
        dead_letter_policy: { max_delivery_attempts: expect.any(Number) as number },
        retry_policy: { minimum_backoff: expect.stringMatching(/s$/) as string },
      });
    }
  });

  it('has the same functions, topics, scheduler jobs, indexes and IAM', () => {
    expect(Object.values(tf.resource.google_cloudfunctions2_function!).map((f) => f.name)).toEqual(
      plan.functions.map((f) => f.name),
    );
    expect(Object.values(tf.resource.google_pubsub_topic!).map((t) => t.name)).toEqual(plan.topics);
    expect(Object.values(tf.resource.google_cloud_scheduler_job!).map((j) => j.name)).toEqual(
      plan.schedules.map((j) => j.name),
    );
    expect(Object.keys(tf.resource.google_firestore_index!)).toHaveLength(indexes.length);
    // The agent acks what it dead-letters; the functions' account peeks control-dlq.
    expect(Object.keys(tf.resource.google_pubsub_subscription_iam_member!)).toHaveLength(
      plan.subscriptions.filter((s) => s.deadLetter).length + 1,
    );
    expect(
      tf.resource.google_pubsub_subscription_iam_member!.control_dlq_sub_runtime_subscriber,
    ).toMatchObject({
      role: 'roles/pubsub.subscriber',
      member: 'serviceAccount:phasegate-fn@demo-project.iam.gserviceaccount.com',
    });
    const invokers = Object.values(tf.resource.google_cloud_run_service_iam_member!);
    expect(invokers.filter((i) => i.member === `serviceAccount:${PUSH_SA}`)).toHaveLength(
      plan.functions.filter((f) => f.trigger.kind === 'pubsub').length,
    );
    expect(JSON.stringify(tf)).toContain(
      'service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com',
    );
  });

  it(
    'orders a first apply on a fresh project: the Pub/Sub agent exists before its grants, ' +
      'builds wait for their identity, the bucket for its API',
    () => {
      const r = tf.resource;
      expect(r.google_project_service_identity!.pubsub_agent).toMatchObject({
        provider: 'google-beta',
        service: 'pubsub.googleapis.com',
        depends_on: ['google_project_service.pubsub_googleapis_com'],
      });
      const agentGrants = [
        ...Object.values(r.google_pubsub_topic_iam_member!),
        ...Object.values(r.google_service_account_iam_member!),
        ...Object.values(r.google_pubsub_subscription_iam_member!),
      ].filter((g) => String(g.member).includes('gcp-sa-pubsub'));
      expect(agentGrants.length).toBeGreaterThan(0);
      for (const grant of agentGrants)
        expect(grant.depends_on).toContain('google_project_service_identity.pubsub_agent');
      const buildGrants = Object.keys(r.google_project_iam_member!)
        .filter((k) => k.startsWith('build_'))
        .map((k) => `google_project_iam_member.${k}`);
      expect(buildGrants).toHaveLength(4);
      for (const fn of Object.values(r.google_cloudfunctions2_function!))
        expect(fn.depends_on).toEqual(
          expect.arrayContaining(['google_service_account.build', ...buildGrants]),
        );
      expect(r.google_storage_bucket!.source!.depends_on).toEqual([
        'google_project_service.storage_googleapis_com',
      ]);
      // A member who reads and acts is one binding, as in the gcloud plan.
      const both = terraformPlan(
        referenceDefinition,
        { ...target, dashboard: { readers: ['user:a@example.com'], actors: ['user:a@example.com'] } },
        indexes,
      ) as typeof tf;
      expect(
        Object.values(both.resource.google_cloud_run_service_iam_member!)
          .filter((m) => String(m.service).includes('dashboard'))
          .map((m) => m.member),
      ).toEqual(['user:a@example.com']);
      expect(r.google_project_service!.storage_googleapis_com).toBeDefined();
      expect(terraformPlan(referenceDefinition, target, indexes)).toHaveProperty([
        'terraform',
        'required_providers',
        'google-beta',
      ]);
    },
  );
});
