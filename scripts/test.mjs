#!/usr/bin/env node
// npm test: the type check, then every test file (beside the code, and test/ against the real thing) with node's runner.
import { spawn, spawnSync } from 'node:child_process';
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

const args = process.argv.slice(2);
// --load: a busy loop pinned to one core runs beside the suite, as on a machine doing other work; a test that waits for
// time instead of the condition it needs fails this way long before it fails in CI
const load = args.includes('--load');
const only = args.filter((a) => a !== '--load');
const files = only.length ? only : DIRS.flatMap((d) => find(path.join(root, d), [])).sort();

if (!only.length) {
  console.log('[skiff test] lint (scripts/lint.mjs)');
  const lint = spawnSync(process.execPath, [path.join(root, 'scripts/lint.mjs')], { stdio: 'inherit', cwd: root });
  if (lint.status !== 0) {
    console.error('[skiff test] lint failed (see above)');
    process.exit(1);
  }
  console.log('[skiff test] type check (tsc --noEmit)');
  const tsc = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root],
    {
      stdio: 'inherit',
      cwd: root,
    },
  );
  if (tsc.status !== 0) {
    console.error('[skiff test] the type check failed');
    process.exit(1);
  }
}

let busy;
if (load) {
  const loop = [process.execPath, '-e', 'for (;;) {}'];
  const pinned = spawnSync('taskset', ['--version']).status === 0;
  busy = spawn(pinned ? 'taskset' : loop[0], pinned ? ['-c', '0', ...loop] : loop.slice(1), { stdio: 'ignore' });
  console.log(`[skiff test] a busy loop runs beside the suite (pid ${busy.pid}${pinned ? ', pinned to CPU 0' : ''})`);
}
const stopBusy = () => busy?.kill('SIGKILL');
process.on('exit', stopBusy);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

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
stopBusy();
process.exit(r.status ?? 1);
