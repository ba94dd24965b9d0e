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
    ignores: ['shared/adapters/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@google-cloud/*'],
              message: 'Cloud SDK imports belong in shared/adapters or entry files.',
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
                "A pipeline imports the kit from shared/index.ts ('phasegate') or shared/testing/index.ts ('phasegate/testing'), not its internals.",
            },
          ],
        },
      ],
    },
  },
  { files: ['*.js', 'bin/*.js', 'test/fixtures/*.js'], ...tseslint.configs.disableTypeChecked },
);
