#!/usr/bin/env node
// npm run lint (and the first step of npm test): the lockfile agrees with package.json, prettier's formatting, eslint's
// rules; then what is left to type (`any` outside tests) and the functions over 80 lines, counted per folder.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let failed = false;

function step(what, fn) {
  const t = Date.now();
  const ok = fn();
  console.log(`[skiff lint] ${what}: ${ok ? 'ok' : 'FAILED'} (${Date.now() - t} ms)`);
  if (!ok) failed = true;
}

step('package-lock.json agrees with package.json (npm ci --dry-run)', () => {
  const r = spawnSync('npm', ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status === 0) return true;
  process.stderr.write(r.stdout + r.stderr);
  console.error('[skiff lint] run npm install and commit package-lock.json');
  return false;
});

step('prettier --check', () => {
  const r = spawnSync(
    process.execPath,
    [
      path.join(root, 'node_modules/prettier/bin/prettier.cjs'),
      '--check',
      '--cache',
      '--cache-location',
      '.cache/prettier.json',
      '.',
    ],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  if (r.status === 0) return true;
  process.stderr.write(r.stdout + r.stderr);
  console.error('[skiff lint] format these files with: npx prettier --write <file>');
  return false;
});

const { ESLint } = await import(path.join(root, 'node_modules/eslint/lib/api.js'));
const eslint = new ESLint({ cwd: root, cache: true, cacheLocation: '.cache/eslint' });
let results = [];
const t = Date.now();
results = await eslint.lintFiles(['.']);
const errors = results.filter((r) => r.errorCount > 0);
if (errors.length > 0) {
  const formatter = await eslint.loadFormatter('stylish');
  process.stderr.write(
    await formatter.format(errors.map((r) => ({ ...r, messages: r.messages.filter((m) => m.severity === 2) }))),
  );
  failed = true;
}
console.log(
  `[skiff lint] eslint: ${errors.length === 0 ? 'ok' : 'FAILED'} (${Date.now() - t} ms, ${results.length} files)`,
);

// what is left to do, per top-level folder (warnings, not failures, in the folders not yet typed)
const count = (rule) => {
  const per = new Map();
  for (const r of results)
    for (const m of r.messages)
      if (m.ruleId === rule) {
        const top = path.relative(root, r.filePath).split(path.sep)[0];
        per.set(top, (per.get(top) ?? 0) + 1);
      }
  return [...per].sort((a, b) => b[1] - a[1]);
};
const show = (label, list) => {
  const total = list.reduce((n, [, c]) => n + c, 0);
  console.log(
    `[skiff lint] ${label}: ${total}${list.length ? ` (${list.map(([d, c]) => `${d} ${c}`).join(', ')})` : ''}`,
  );
};
show('`any` outside tests', count('@typescript-eslint/no-explicit-any'));
show('functions over 80 lines', count('max-lines-per-function'));

process.exit(failed ? 1 : 0);
