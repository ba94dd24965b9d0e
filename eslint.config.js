// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.phasegate/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'bin/*.js', 'test/fixtures/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // An unawaited publish or write dies with the instance.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Cloud SDKs only in adapters, entry files, infra and scripts: handlers take ports.
    files: ['shared/**/*.ts'],
    // The decorators themselves import their injector.
    ignores: ['shared/adapters/**', 'shared/runtime/fault-decorators.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@google-cloud/*'],
              message: 'Cloud SDK imports belong in shared/adapters or entry files.',
            },
            {
              // Test seams at the root (STYLE 14): the decorators wrap what a handler is given.
              regex: '(^|/)fault(s|-decorators)\\.ts$',
              message:
                'Faults are applied where dependencies are built (shared/adapters): no handler mentions them.',
            },
            {
              group: ['node:fs', 'node:fs/*', 'fs', 'fs/*'],
              message: 'File I/O belongs in shared/adapters and scripts.',
            },
          ],
        },
      ],
    },
  },
  {
    // A pipeline uses the kit through its public entry points only (package.json "exports").
    files: ['functions/**/*.ts', 'examples/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)shared/(?!index\\.ts$|testing/index\\.ts$)',
              message:
                "A pipeline imports the kit from shared/index.ts ('phasegate') or shared/testing/index.ts " +
                "('phasegate/testing'), not its internals.",
            },
          ],
        },
      ],
    },
  },
  { files: ['*.js', 'bin/*.js', 'test/fixtures/*.js'], ...tseslint.configs.disableTypeChecked },
);
