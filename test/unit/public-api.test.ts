import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import * as kit from '../../shared/index.ts';
import * as testing from '../../shared/testing/index.ts';

const root = new URL('../..', import.meta.url).pathname;

/** The repository's own import rule for that file (from eslint.config.js), run alone: no type information needed. */
async function lintPipelineFile(path: string, code: string): Promise<string[]> {
  const resolved = (await new ESLint({ cwd: root }).calculateConfigForFile(path)) as Linter.Config;
  const rule = resolved.rules?.['no-restricted-imports'];
  expect(rule, `eslint.config.js restricts imports in ${path}`).toBeDefined();
  const eslint = new ESLint({
    cwd: root,
    overrideConfigFile: true,
    overrideConfig: [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser },
        rules: { 'no-restricted-imports': rule! },
      },
    ],
  });
  const [result] = await eslint.lintText(code, { filePath: path });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? ''}: ${m.message}`);
}

describe('the public API', () => {
  it('gives a pipeline what it is written with, and tests what they need', () => {
    for (const name of [
      'loadDefinition',
      'partitionScheme',
      'defineExpectations',
      'registerPipelineFunctions',
      'waitForEarlierPartitions',
      'NotReadyError',
      'PermanentError',
      'TransientError',
      'createHttpClient',
      'COLLECTIONS',
      'TOPICS',
    ])
      expect(kit, name).toHaveProperty(name);
    expect(Object.keys(testing).sort()).toEqual([
      'MemoryPublisher',
      'MemoryStore',
      'manualClock',
      'memoryPipeline',
      'startOnEmulators',
    ]);
  });

  it('a pipeline that reaches into the kit internals fails lint; the public entry points pass', async () => {
    const internal = await lintPipelineFile(
      'functions/pipeline/x.ts',
      "import { MemoryStore } from '../../shared/testing/memory-store.ts';\nexport const s = new MemoryStore();\n",
    );
    expect(internal).toEqual([
      expect.stringMatching(/^no-restricted-imports: .*imports the kit from shared\/index\.ts/),
    ]);
    expect(
      await lintPipelineFile(
        'examples/weekly/x.ts',
        "import { PermanentError } from '../../shared/errors/errors.ts';\nexport const e = PermanentError;\n",
      ),
    ).toHaveLength(1);
    expect(
      await lintPipelineFile(
        'functions/pipeline/x.ts',
        "import { PermanentError } from '../../shared/index.ts';\n" +
          "import { MemoryStore } from '../../shared/testing/index.ts';\n" +
          'export const e = [PermanentError, MemoryStore];\n',
      ),
    ).toEqual([]);
  });
});
