import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { referenceDefinitionInput } from '../../functions/pipeline/definition.ts';
import { runCli } from '../support/cli.ts';

describe('phasegate validate', () => {
  it('passes the static audit of the repository as it is', async () => {
    const result = await runCli(['validate'], {});
    expect(result.stdout).toContain('static audit: no drift');
    expect(result.code).toBe(0);
  });

  it('fails a definition with one processor renamed only in the config, naming the config entry and the registry entry', async () => {
    const renamed = structuredClone(referenceDefinitionInput) as {
      phases: { processors: { name: string }[] }[];
    };
    renamed.phases[1]!.processors[1]!.name = 'normalise-team-stats';
    const file = join(mkdtempSync(join(tmpdir(), 'phasegate-validate-')), 'definition.json');
    writeFileSync(file, JSON.stringify(renamed));
    const result = await runCli(['validate', '--definition', file], {});
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('static audit: 1 drift');
    expect(result.stdout).toContain(
      '[registry] definition phases[raw].processors[1] names "normalise-team-stats", ' +
        'which the processor registry does not have; the registry has "normalize-team-stats"',
    );
  });

  it('fails a definition with an output its expectations do not name: the gate would fail closed', async () => {
    const grown = structuredClone(referenceDefinitionInput) as {
      phases: { processors: { outputs: { collection: string; partitionField?: string }[] }[] }[];
    };
    grown.phases[1]!.processors[0]!.outputs.push({
      collection: 'game_officials',
      partitionField: 'gameDate',
    });
    const file = join(mkdtempSync(join(tmpdir(), 'phasegate-validate-')), 'definition.json');
    writeFileSync(file, JSON.stringify(grown));
    const result = await runCli(['validate', '--definition', file], {});
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      '[expectations] phases[raw].processors[normalize-games] writes game_officials (gameDate), for which the expectations name no minimum',
    );
  });

  it('answers an unreadable or invalid definition file clearly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phasegate-validate-'));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ name: 'x', phases: [] }));
    const invalid = await runCli(['validate', '--definition', join(dir, 'bad.json')], {});
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/bad\.json: invalid pipeline definition:\n\s+- phases: /);
    const missing = await runCli(['validate', '--definition', join(dir, 'absent.json')], {});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read the definition');
  });
});
