// eslint for skiff: typescript-eslint's recommended rules (without type information, so the whole tree lints in
// seconds), the import boundaries between components, no `any` in the typed folders, long functions reported.
// scripts/lint.mjs runs it and prints what is left per folder.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'dist.*/', '.scratch/', 'bench-out/', '.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        clearImmediate: 'readonly',
        queueMicrotask: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        structuredClone: 'readonly',
        fetch: 'readonly',
        performance: 'readonly',
        globalThis: 'readonly',
      },
    },
    rules: {
      'max-lines-per-function': ['warn', { max: 80, skipBlankLines: true, skipComments: true }],
      '@typescript-eslint/no-explicit-any': 'warn',
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // a cursor walking up its parents starts from `this`
      '@typescript-eslint/no-this-alias': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // typed folders: no `any` comes back (the scheduler's taint-toleration and node-affinity plugins are moving to lib/)
    files: ['lib/**', 'tools/**', 'scheduler/**'],
    ignores: ['scheduler/plugins/taint-toleration/**', 'scheduler/plugins/node-affinity/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // tests and test harnesses: long describe blocks and loose fixtures are fine
    files: ['**/*.test.ts', 'test/**', 'bench/**'],
    rules: {
      'max-lines-per-function': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
