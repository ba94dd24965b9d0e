import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { buildFunctions, buildKey, FUNCTION_SOURCES } from '../../scripts/lib/function-build.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A copy of what the build reads, so a test can change sources without touching the repository. */
function copyOfSources(): string {
  const root = mkdtempSync(join(tmpdir(), 'phasegate-build-'));
  for (const path of [
    'functions',
    'examples',
    'shared',
    'test/fixtures',
    'scripts/bench',
    'package-lock.json',
    'tsconfig.json',
    'firestore.indexes.json',
  ]) {
    cpSync(join(repoRoot, path), join(root, path), { recursive: true });
  }
  return root;
}

const roots: string[] = [];
const scratch = () => {
  const root = copyOfSources();
  roots.push(root);
  return root;
};
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});
const builds = (root: string) =>
  readdirSync(join(root, '.phasegate', 'build')).filter((name) => !name.startsWith('.'));

describe('the functions build', () => {
  it('compiles every entry module once and reuses the build while the sources are unchanged', async () => {
    const root = scratch();
    const first = await buildFunctions(root);
    expect(first.built).toBe(true);
    for (const source of FUNCTION_SOURCES) expect(existsSync(first.compiled(source))).toBe(true);
    expect(first.compiled('functions/index.ts')).toBe(
      join(root, '.phasegate', 'build', first.key, 'functions', 'index.js'),
    );
    // npm packages stay imports, resolved from node_modules at run time as in production.
    expect(readFileSync(first.compiled('functions/index.ts'), 'utf8')).toMatch(
      /from "@google-cloud\/functions-framework"|from "zod"/,
    );
    const again = await buildFunctions(root);
    expect(again).toMatchObject({ key: first.key, built: false });
    expect(builds(root)).toEqual([first.key]);
  });

  it('builds anew when any file the bundles can contain changes, and when the lock file changes', async () => {
    const root = scratch();
    const before = buildKey(root);
    writeFileSync(
      join(root, 'shared', 'config.ts'),
      `${readFileSync(join(root, 'shared', 'config.ts'), 'utf8')}\n// changed\n`,
    );
    const afterSource = buildKey(root);
    expect(afterSource).not.toBe(before);
    writeFileSync(
      join(root, 'package-lock.json'),
      `${readFileSync(join(root, 'package-lock.json'), 'utf8')} `,
    );
    expect(buildKey(root)).not.toBe(afterSource);
    const rebuilt = await buildFunctions(root);
    expect(rebuilt).toMatchObject({ key: buildKey(root), built: true });
  });

  it('builders racing on one tree agree on one build', async () => {
    const root = scratch();
    const results = await Promise.all([buildFunctions(root), buildFunctions(root), buildFunctions(root)]);
    expect(new Set(results.map((r) => r.key)).size).toBe(1);
    expect(builds(root)).toEqual([results[0].key]);
    // No scratch folder of a loser is left behind.
    expect(readdirSync(join(root, '.phasegate', 'build'))).toEqual([results[0].key]);
  });

  it('refuses an entry module it does not build, and a bundle that reads outside the hashed folders', async () => {
    const root = scratch();
    const build = await buildFunctions(root);
    expect(() => build.compiled('scripts/cli.ts')).toThrow(
      'scripts/cli.ts is not a function entry module: add it to FUNCTION_SOURCES',
    );
    writeFileSync(
      join(root, 'functions', 'index.ts'),
      `import '../infra/plan.ts';\n${readFileSync(join(root, 'functions', 'index.ts'), 'utf8')}`,
    );
    cpSync(join(repoRoot, 'infra'), join(root, 'infra'), { recursive: true });
    await expect(buildFunctions(root)).rejects.toThrow(
      new RegExp(
        String.raw`function bundles read files outside functions, examples, shared, test\/fixtures, ` +
          String.raw`scripts\/bench \(infra\/plan\.ts.*\): add their folder to SOURCE_ROOTS`,
      ),
    );
    // The failed build left no folder that a later start could take for a good one.
    expect(builds(root)).toEqual([build.key]);
  });

  it('says which file does not compile', async () => {
    const root = scratch();
    writeFileSync(join(root, 'shared', 'config.ts'), 'export const broken = ;\n');
    await expect(buildFunctions(root)).rejects.toThrow(/shared\/config\.ts/);
  });
});
