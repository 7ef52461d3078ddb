// eslint for skiff: typescript-eslint's recommended rules (without type information, so the whole tree lints in
// seconds), the import boundaries between components, no `any` in the typed folders, long functions reported.
// scripts/lint.mjs runs it and prints what is left per folder.
import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Import boundaries (README.md's architecture, lib/README.md): components talk to each other only through the API
// server, so each imports only lib/ and its own folder; apiserver/ is imported by cli/, test/ and bench/ alone; a
// controller's folder does not import another controller's (controllers/*.ts are theirs to share). Tests follow the
// rule of their folder, except that they may wait with test/harness/eventually.ts. Patterns match folder names anywhere in a relative path: no folder inside a component takes a
// top-level folder's name.
const TOP_LEVEL = [
  'apiserver',
  'scheduler',
  'controllers',
  'node-agent',
  'tools',
  'lib',
  'cli',
  'test',
  'bench',
  'scripts',
  'bin',
];
const MAY_IMPORT = {
  apiserver: ['lib'],
  scheduler: ['lib'],
  controllers: ['lib'],
  'node-agent': ['lib'],
  tools: ['lib'],
  lib: [],
};
const SOURCES = '**/*.{ts,mts,js,mjs}';

function boundaryOptions(folder, extra = [], tests = false) {
  // a unit test may wait for a condition with the harness's eventually, and nothing else of test/
  const others = TOP_LEVEL.filter((t) => t !== folder && !MAY_IMPORT[folder].includes(t) && !(tests && t === 'test'));
  const message = `${folder}/ imports only ${[...MAY_IMPORT[folder], folder].map((f) => `${f}/`).join(' and ')}: components talk through the API server, shared code lives in lib/ (see lib/README.md).`;
  return [
    'error',
    {
      patterns: [
        { group: others.map((t) => `**/${t}/**`), message },
        ...(tests ? [{ regex: '(^|/)test/(?!harness/eventually\\.ts$)', message }] : []),
        ...extra,
      ],
    },
  ];
}

/** for a file `depth` folders below controllers/<name>/: a path that climbs to controllers/ and enters another folder */
function siblingController(name, depth) {
  const up = '\\.\\./'.repeat(depth);
  return {
    regex: `^${up}(?:\\.\\./controllers/)?(?!${name}/|\\.\\./)[^/]+/`,
    message: `controllers/${name}/ does not import another controller's folder: share through controllers/*.ts or lib/.`,
  };
}

const controllerFolders = readdirSync(new URL('./controllers/', import.meta.url), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

const boundaries = [
  ...Object.keys(MAY_IMPORT).map((folder) => ({
    files: [`${folder}/${SOURCES}`],
    rules: { 'no-restricted-imports': boundaryOptions(folder) },
  })),
  ...Object.keys(MAY_IMPORT).map((folder) => ({
    files: [`${folder}/**/*.test.ts`],
    rules: { 'no-restricted-imports': boundaryOptions(folder, [], true) },
  })),
  // a controller's own folder, its files one, two or three folders deep
  ...controllerFolders.flatMap((name) =>
    [1, 2, 3].map((depth) => ({
      files: [`controllers/${name}/${'*/'.repeat(depth - 1)}*.{ts,mts,js,mjs}`],
      rules: { 'no-restricted-imports': boundaryOptions('controllers', [siblingController(name, depth)]) },
    })),
  ),
];

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
  ...boundaries,
);
