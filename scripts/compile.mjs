#!/usr/bin/env node
// Compiles the TypeScript sources to plain JavaScript in dist/, one file per source file with the same layout (so that
// files found next to a module through import.meta.url, copied beside it, are still found), relative imports of .ts
// files rewritten to .js and packages left to node_modules. Running compiled files spares every skiff process the
// TypeScript loader (a thread of its own and tens of MB). bin/skiff.mjs runs dist/ only while it is as new as the
// sources and falls back to the sources (through tsx) otherwise, so an edit never runs stale code. Only what changes
// the output counts towards that (code, the files copied beside it, the compiler and its settings): editing a README
// does not make dist/ stale.
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** the folders a skiff process runs code from (tests and benchmarks run from the sources) */
export const SOURCE_DIRS = ['lib', 'apiserver', 'scheduler', 'controllers', 'node-agent', 'cli', 'tools'];
const STAMP = '.sources.json';
/** files outside SOURCE_DIRS that change the output: the compiler's TypeScript settings (esbuild reads tsconfig.json)
 * and this script */
const SETTINGS = ['tsconfig.json', 'scripts/compile.mjs'];

/** left out of dist/ and of its freshness: tests, documentation, hidden files (editors' swap and lock files) */
function isIgnored(name) {
  return name.endsWith('.test.ts') || name === 'testdata' || name.endsWith('.md') || name.startsWith('.');
}

/** the esbuild that compiles (another version may compile differently) */
function compilerVersion(root) {
  try {
    return createRequire(path.join(root, 'package.json'))('esbuild/package.json').version;
  } catch {
    return undefined;
  }
}

/**
 * The inputs of dist/: every source file that is compiled (.ts) or copied beside the compiled ones (relative paths),
 * and what identifies them as they are now: their names, the newest modification time among them and the settings, and
 * the compiler's version.
 */
function walk(root) {
  const files = [];
  let newest = 0;
  const touch = (r) => {
    const m = statSync(path.join(root, r)).mtimeMs;
    if (m > newest) newest = m;
  };
  const visit = (rel) => {
    for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      if (isIgnored(e.name)) continue;
      const r = path.join(rel, e.name);
      if (e.isDirectory()) visit(r);
      else if (e.isFile()) {
        files.push(r);
        touch(r);
      }
    }
  };
  for (const d of SOURCE_DIRS) if (existsSync(path.join(root, d))) visit(d);
  for (const f of SETTINGS) if (existsSync(path.join(root, f))) touch(f);
  files.sort();
  // the names, not only their number: a file renamed, or one added as another is removed, changes the output too
  const names = createHash('sha256').update(files.join('\n')).digest('hex');
  return { files, stamp: { names, count: files.length, newest, esbuild: compilerVersion(root) } };
}

/** dist/ when it was compiled from the sources as they are now, else undefined */
export function freshDist(root = ROOT) {
  const dist = path.join(root, 'dist');
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(path.join(dist, STAMP), 'utf8'));
  } catch {
    return undefined;
  }
  const now = walk(root).stamp;
  return now.names === stamp.names && now.newest <= stamp.newest && now.esbuild === stamp.esbuild ? dist : undefined;
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** removes the folders a compile that is no longer running left beside dist/ (it failed or was killed midway) */
function removeLeftovers(root) {
  for (const name of readdirSync(root)) {
    const m = /^dist\.(\d+)\.(?:\d+\.)?(?:tmp|old)$/.exec(name);
    if (m && Number(m[1]) !== process.pid && !isAlive(Number(m[1])))
      rmSync(path.join(root, name), { recursive: true, force: true });
  }
}

/**
 * Puts the folder `out` in place of dist/ by renames: whoever opens dist/ finds the old whole or the new whole (or,
 * between the two renames, no dist/: bin/skiff.mjs then runs the sources), never a half-written one. The old folder is
 * removed afterwards; a running process keeps the files it has open, and modules it loads later come from the new one.
 */
function swapIn(root, out) {
  const dist = path.join(root, 'dist');
  const olds = [];
  try {
    for (let i = 0; ; i++) {
      const old = path.join(root, `dist.${process.pid}.${i}.old`);
      try {
        renameSync(dist, old);
        olds.push(old);
      } catch (e) {
        if (e.code !== 'ENOENT') throw e;
      }
      try {
        renameSync(out, dist);
        return;
      } catch (e) {
        // another compile put its own dist/ in place between the two renames: move that one aside too
        if ((e.code === 'ENOTEMPTY' || e.code === 'EEXIST') && i < 10) continue;
        // else the old dist/ goes back in place rather than leaving none
        const last = olds.pop();
        if (last) renameSync(last, dist);
        throw e;
      }
    }
  } finally {
    for (const old of olds) rmSync(old, { recursive: true, force: true });
  }
}

/** compiles into a new folder and swaps it in, so that a process starting meanwhile sees the old or the new whole */
export async function compile(root = ROOT) {
  removeLeftovers(root);
  // read before compiling: a file edited while the compile runs is newer than the stamp, so dist/ is stale
  const before = walk(root);
  const out = path.join(root, `dist.${process.pid}.tmp`);
  rmSync(out, { recursive: true, force: true });
  try {
    await compileInto(root, out, before.files);
    writeFileSync(path.join(out, STAMP), JSON.stringify(before.stamp) + '\n');
    swapIn(root, out);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return { files: before.files.filter((f) => f.endsWith('.ts')).length };
}

async function compileInto(root, out, files) {
  const { build } = await import('esbuild');
  const sources = files.filter((f) => f.endsWith('.ts'));
  const rewrite = {
    name: 'skiff-one-to-one',
    setup(b) {
      // every import stays an import: relative ones to the compiled sibling, packages to node_modules
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        const spec = args.path.startsWith('.') ? args.path.replace(/\.ts$/, '.js') : args.path;
        return { path: spec, external: true };
      });
    },
  };
  await build({
    absWorkingDir: root,
    entryPoints: sources,
    outdir: out,
    outbase: '.',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    plugins: [rewrite],
    logLevel: 'warning',
  });
  for (const f of files) {
    if (f.endsWith('.ts')) continue;
    mkdirSync(path.dirname(path.join(out, f)), { recursive: true });
    copyFileSync(path.join(root, f), path.join(out, f));
  }
  writeFileSync(path.join(out, 'package.json'), '{"type":"module"}\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t = Date.now();
  const { files } = await compile();
  console.log(`[skiff compile] ${files} files compiled to dist/ in ${Date.now() - t} ms`);
}
