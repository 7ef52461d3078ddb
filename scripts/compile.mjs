#!/usr/bin/env node
// Compiles the TypeScript sources to plain JavaScript in dist/, one file per source file with the same layout (so that
// files found next to a module through import.meta.url, copied beside it, are still found), relative imports of .ts
// files rewritten to .js and packages left to node_modules. Running compiled files spares every skiff process the
// TypeScript loader (a thread of its own and tens of MB). bin/skiff.mjs runs dist/ only while it is as new as the
// sources and falls back to the sources (through tsx) otherwise, so an edit never runs stale code.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** the folders a skiff process runs code from (tests and benchmarks run from the sources) */
export const SOURCE_DIRS = ['lib', 'apiserver', 'scheduler', 'controllers', 'node-agent', 'cli', 'tools'];
const STAMP = '.sources.json';

function isTest(name) {
  return name.endsWith('.test.ts') || name === 'testdata';
}

/** every source file (relative path) with the newest modification time among them */
function walk(root) {
  const files = [];
  let newest = 0;
  const visit = (rel) => {
    for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      if (isTest(e.name)) continue;
      const r = path.join(rel, e.name);
      if (e.isDirectory()) visit(r);
      else if (e.isFile()) {
        files.push(r);
        const m = statSync(path.join(root, r)).mtimeMs;
        if (m > newest) newest = m;
      }
    }
  };
  for (const d of SOURCE_DIRS) if (existsSync(path.join(root, d))) visit(d);
  return { files, newest };
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
  const now = walk(root);
  return now.files.length === stamp.count && now.newest <= stamp.newest ? dist : undefined;
}

/** compiles into a new folder and swaps it in, so that a process starting meanwhile sees the old or the new whole */
export async function compile(root = ROOT) {
  const { build } = await import('esbuild');
  const before = walk(root);
  const out = path.join(root, `dist.${process.pid}.tmp`);
  rmSync(out, { recursive: true, force: true });
  const sources = before.files.filter((f) => f.endsWith('.ts'));
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
  for (const f of before.files) {
    if (f.endsWith('.ts') || f.endsWith('.md')) continue;
    mkdirSync(path.dirname(path.join(out, f)), { recursive: true });
    copyFileSync(path.join(root, f), path.join(out, f));
  }
  writeFileSync(path.join(out, 'package.json'), '{"type":"module"}\n');
  writeFileSync(path.join(out, STAMP), JSON.stringify({ count: before.files.length, newest: before.newest }) + '\n');
  const dist = path.join(root, 'dist');
  const old = path.join(root, `dist.${process.pid}.old`);
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(out, dist);
  rmSync(old, { recursive: true, force: true });
  return { files: sources.length };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t = Date.now();
  const { files } = await compile();
  console.log(`[skiff compile] ${files} files compiled to dist/ in ${Date.now() - t} ms`);
}
