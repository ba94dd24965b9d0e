import { describe, expect, it } from 'vitest';
import { referenceDefinition, referenceDefinitionInput } from '../../functions/pipeline/definition.ts';
import { createReferenceProcessors } from '../../functions/pipeline/processors.ts';
import { declaredIndexes } from '../../shared/adapters/declared-indexes.ts';
import { loadDefinition } from '../../shared/definition/load.ts';
import { planResources } from '../../infra/plan.ts';
import { requiredIndexes } from '../../infra/validate/queries.ts';
import { auditReadme, readmeTableKeys } from '../../infra/validate/readme-audit.ts';
import { auditExpectations, auditIndexes, auditRegistry } from '../../infra/validate/static-audit.ts';
import { referenceExpectations } from '../../functions/pipeline/gate-expectations.ts';
import { readFileSync } from 'node:fs';

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
          'definition phases[raw].processors[1] names "normalise-team-stats", ' +
          'which the processor registry does not have; the registry has "normalize-team-stats", ' +
          'which no phase names (renamed on one side only?)',
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
      'phases[raw].processors[normalize-games] writes game_officials (gameDate), ' +
        'for which the expectations name no minimum: its gate would fail closed; ' +
        'add raw.game_officials.gameDate (0 if nothing is expected)',
      'phases[analytics].processors[series-state] writes series_state (seriesDate), ' +
        'for which the expectations name no minimum: its gate would fail closed; ' +
        'add analytics.series_state.seriesDate (0 if nothing is expected)',
      'the expectations of analytics name series_state (gameDate), which no processor of analytics ' +
        'declares as an output: it checks nothing; the phase writes series_state.seriesDate',
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
      'the code queries failed_processor_queue (status asc, nextRetryAt asc), which firestore.indexes.json ' +
        'does not declare: production Firestore refuses that query',
    ]);
    expect(queueIndex!.collectionGroup).toBe('failed_processor_queue');
  });
});
