// Lint rules. Workflow files run inside Temporal's deterministic sandbox, so
// they may not import Node built-ins or I/O libraries, and no file may leave a
// promise floating.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.flatMap((name) => [name, `node:${name}`]);

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '**/*.cjs', '**/*.mjs', '**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/ban-ts-comment': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: 'Workflows must be deterministic: no Node built-ins. Move I/O into an activity.' })),
            { name: '@aws-sdk/client-s3', message: 'Workflows do no I/O. Call a storage activity instead.' },
            { name: '@tensorflow/tfjs', message: 'Workflows do no computation. Call an activity instead.' },
          ],
          patterns: [
            { group: ['../src/*', '../src/**', '../activities/*'], allowTypeImports: true, message: 'Workflows import activities and src/ as types only.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setInterval', message: 'Use workflow.sleep or a timer from @temporalio/workflow.' },
        { name: 'fetch', message: 'Workflows do no I/O. Call an activity instead.' },
        { name: 'process', message: 'Workflows may not read the process environment.' },
      ],
    },
  },
);
