#!/usr/bin/env node
// npm test: the type check, then every test file (beside the code, and test/ against the real thing) with node's runner.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIRS = ['lib', 'apiserver', 'scheduler', 'controllers', 'node-agent', 'tools', 'cli', 'test'];

function find(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) find(p, out);
    else if (e.endsWith('.test.ts')) out.push(path.relative(root, p));
  }
  return out;
}

const only = process.argv.slice(2);
const files = only.length ? only : DIRS.flatMap((d) => find(path.join(root, d), [])).sort();

if (!only.length) {
  console.log('[skiff test] type check (tsc --noEmit)');
  const tsc = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root],
    { stdio: 'inherit', cwd: root },
  );
  if (tsc.status !== 0) {
    console.error('[skiff test] the type check failed');
    process.exit(1);
  }
}
console.log(`[skiff test] ${files.length} test files`);
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-force-exit', ...files],
  {
    stdio: 'inherit',
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '' },
  },
);
process.exit(r.status ?? 1);
