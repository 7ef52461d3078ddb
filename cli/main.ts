/**
 * skiff: one binary, many roles (k3s-style). The process entry (bin/skiff.mjs loads it): process-wide set-up, then the
 * command line (command-line.ts), whose exit code ends the process unless the command runs on (a server, an agent).
 */

import { writeFileSync } from 'node:fs';
import { allocator, keepAllocatorToSelf } from '../lib/allocator.ts';
import { leanAsyncBind } from '../lib/async-bind.ts';
import { runCommandLine } from './command-line.ts';

// jemalloc (bin/with-allocator) is this process's alone: the programs it starts get the environment without it
keepAllocatorToSelf();
// AsyncResource.bind without its deprecated property, as later Node versions have it (every etcd call binds once)
leanAsyncBind();

// under `node --expose-gc` (benchmarks measuring retained memory), SIGUSR2 runs a full garbage collection and, when
// SKIFF_MEMORY_REPORT names a file, writes the process's memory figures after it there
const gc = (globalThis as { gc?: () => void }).gc;
if (typeof gc === 'function') {
  process.on('SIGUSR2', () => {
    gc();
    const report = process.env.SKIFF_MEMORY_REPORT;
    if (report) writeFileSync(report, JSON.stringify({ ...process.memoryUsage(), allocator: allocator ?? 'system' }));
  });
}

const code = await runCommandLine(process.argv.slice(2));
if (code !== 0) process.exit(code);
