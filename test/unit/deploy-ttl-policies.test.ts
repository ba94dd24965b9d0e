// Deploy gives every bookkeeping collection a Firestore TTL policy on `expiresAt`, in the gcloud
// plan and in the Terraform JSON, from the one list the code stamps (shared/store/retention.ts).
import { describe, expect, it } from 'vitest';
import { referenceDefinition } from '../../functions/pipeline/definition.ts';
import { terraformPlan } from '../../infra/deploy/terraform.ts';
import { auditTtlOverrides } from '../../infra/validate/ttl-audit.ts';
import { declaredIndexesPath, readIndexesFileWhole } from '../../shared/adapters/declared-indexes.ts';
import { COLLECTIONS } from '../../shared/runtime/collections.ts';
import { EXPIRES_AT, TTL_COLLECTIONS } from '../../shared/store/retention.ts';
import { find, indexes, steps, target } from '../support/demo-deploy.ts';

describe('TTL policies in the deploy plans', () => {
  it('gcloud sets one on expiresAt for each bookkeeping collection, after the database exists', () => {
    const ttl = find('firestore', 'fields', 'ttls', 'update');
    expect(ttl.map((s) => s.argv)).toEqual(
      TTL_COLLECTIONS.map((c) => [
        'gcloud',
        'firestore',
        'fields',
        'ttls',
        'update',
        EXPIRES_AT,
        `--collection-group=${c}`,
        '--enable-ttl',
        '--async',
        '--project=demo-project',
        '--quiet',
      ]),
    );
    expect([...TTL_COLLECTIONS].sort()).toEqual(
      [COLLECTIONS.events, COLLECTIONS.processorRuns, COLLECTIONS.decisionClaims, COLLECTIONS.outbox].sort(),
    );
    // An update, safe to repeat: no create that could find it there.
    for (const step of ttl) expect(step.ifExists).toBeUndefined();
    const database = steps.findIndex((s) => s.argv.includes('databases') && s.argv.includes('create'));
    expect(database).toBeGreaterThanOrEqual(0);
    for (const step of ttl) expect(steps.indexOf(step)).toBeGreaterThan(database);
  });

  it('Terraform has a google_firestore_field with ttl_config for each, keeping its inherited indexes', () => {
    const tf = terraformPlan(referenceDefinition, target, indexes) as {
      resource: Record<string, Record<string, Record<string, unknown>>>;
    };
    const fields = Object.values(tf.resource.google_firestore_field ?? {});
    expect(fields.map((f) => f.collection)).toEqual([...TTL_COLLECTIONS]);
    for (const field of fields) {
      expect(field).toMatchObject({
        project: 'demo-project',
        database: '(default)',
        field: EXPIRES_AT,
        ttl_config: {},
        depends_on: ['google_firestore_database.default'],
      });
      // An empty index_config block would drop the field's single-field indexes.
      expect(field).not.toHaveProperty('index_config');
    }
  });

  it("validate refuses an override in firestore.indexes.json that would fight deploy's policies", () => {
    expect(auditTtlOverrides(readIndexesFileWhole(declaredIndexesPath()).fieldOverrides)).toEqual([]);
    const overrides = [
      { collectionGroup: COLLECTIONS.events, fieldPath: 'at', ttl: true, indexes: [] },
      { collectionGroup: COLLECTIONS.outbox, fieldPath: EXPIRES_AT, ttl: false, indexes: [] },
      // A pipeline's own data, and an index exemption without a TTL: not the kit's business.
      { collectionGroup: 'games', fieldPath: 'expireAt', ttl: true, indexes: [] },
      { collectionGroup: COLLECTIONS.events, fieldPath: 'stack', indexes: [] },
    ];
    expect(auditTtlOverrides(overrides)).toEqual([
      {
        area: 'indexes',
        message:
          'firestore.indexes.json fieldOverrides[0] sets ttl true on pipeline_events.at: phasegate deploy gives ' +
          'pipeline_events its TTL policy on expiresAt (the retention in the definition); remove the override',
      },
      {
        area: 'indexes',
        message:
          'firestore.indexes.json fieldOverrides[1] sets ttl false on outbox.expiresAt: phasegate deploy gives ' +
          'outbox its TTL policy on expiresAt (the retention in the definition); remove the override',
      },
    ]);
  });
});
