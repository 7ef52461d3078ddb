/**
 * npm run bench [-- NAME ...]: runs benchmarks, prints a table each, and writes NAME.json into $SKIFF_BENCH_OUT
 * when that names a folder. Benchmarks measure skiff next to a reference measured in the same run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { allocator, keepAllocatorToSelf } from '../lib/allocator.ts';
import { leanAsyncBind } from '../lib/async-bind.ts';

// the bench's clients run with the allocator skiff runs with (bin/with-allocator); the programs it starts as
// references (etcd, knot, wrk, ...) get the environment without it
keepAllocatorToSelf();
// the bench's clients (etcd3 for the raw references, HTTP/2 watchers) bind as skiff's processes do (lib/async-bind.ts)
leanAsyncBind();

export type Figures = Record<string, unknown>;

const BENCHMARKS: Record<string, () => Promise<Figures>> = {
  api: async () => (await import('./api.ts')).run(),
  watch: async () => (await import('./watch.ts')).run(),
  scheduler: async () => (await import('./scheduler.ts')).run(),
  rollout: async () => (await import('./rollout.ts')).run(),
  'pod-startup': async () => (await import('./pod-startup.ts')).run(),
  dns: async () => (await import('./dns.ts')).run(),
  proxy: async () => (await import('./proxy.ts')).run(),
};

const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const chosen = names.length ? names : Object.keys(BENCHMARKS);
for (const n of chosen) {
  if (!BENCHMARKS[n]) {
    console.error(`unknown benchmark "${n}"; known: ${Object.keys(BENCHMARKS).join(', ')}`);
    process.exit(2);
  }
}
const out = process.env.SKIFF_BENCH_OUT;
console.log(`memory allocator of skiff and of the benchmark clients: ${allocator ?? "the system's (glibc)"}`);
for (const n of chosen) {
  console.log(`\n=== benchmark: ${n} ===`);
  const figures = await BENCHMARKS[n]();
  if (out) {
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, `${n}.json`), JSON.stringify(figures, null, 2) + '\n');
    console.log(`(figures written to ${path.join(out, `${n}.json`)})`);
  }
}
process.exit(0);
