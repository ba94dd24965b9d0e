// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.phasegate/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.js', 'test/fixtures/*.js'] }, tsconfigRootDir: import.meta.dirname },
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
      'no-restricted-imports': ['error', { patterns: [{ group: ['@google-cloud/*'], message: 'Cloud SDK imports belong in shared/adapters or entry files.' }] }],
    },
  },
  { files: ['*.js', 'bin/*.js', 'test/fixtures/*.js'], ...tseslint.configs.disableTypeChecked },
);
