/**
 * skiff: one binary, many roles (k3s-style). Each subcommand is one role or one tool, loaded only when run: a node
 * agent does not carry the API server's or the controllers' code in its memory.
 */

import { writeFileSync } from 'node:fs';
import { allocator, keepAllocatorToSelf } from '../lib/allocator.ts';
import { leanAsyncBind } from '../lib/async-bind.ts';

// jemalloc (bin/with-allocator) is this process's alone: the programs it starts get the environment without it
keepAllocatorToSelf();
// AsyncResource.bind without its deprecated property, as later Node versions have it (every etcd call binds once)
leanAsyncBind();

interface Command {
  summary: string;
  run(args: string[]): Promise<void>;
}

const COMMANDS: Record<string, Command> = {
  server: {
    summary: 'run a whole single-node cluster in the foreground (store, API server, scheduler, controllers)',
    run: async (a) => (await import('./server.ts')).serverCommand(a),
  },
  apiserver: {
    summary: 'run the API server alone (store: embedded SQLite by default, or --store etcd://host:port)',
    run: async (a) => (await import('./server.ts')).apiserverCommand(a),
  },
  scheduler: {
    summary: 'run the scheduler alone against an API server (--kubeconfig)',
    run: async (a) => (await import('./role-commands.ts')).schedulerCommand(a),
  },
  'controller-manager': {
    summary: 'run the controllers alone against an API server (--kubeconfig, --controllers, --queue)',
    run: async (a) => (await import('./role-commands.ts')).controllerManagerCommand(a),
  },
  agent: {
    summary: 'run the node agent of this host: pods on containerd through CRI, with CNI networking',
    run: async (a) => (await import('./agent.ts')).agentCommand(a),
  },
  image: {
    summary: "images without a registry: build-busybox (pause and busybox from this host's packages), import FILE.tar",
    run: async (a) => (await import('./image.ts')).imageCommand(a),
  },
  'why-pending': {
    summary: 'explain per node why the scheduler cannot place a pod, and what would make it fit',
    run: async (a) => (await import('./tools.ts')).whyPendingCommand(a),
  },
  'sim-nodes': {
    summary: 'register simulated nodes that report their pods Running (a test and benchmark tool)',
    run: async (a) => (await import('./tools.ts')).simNodesCommand(a),
  },
};

function usage(): string {
  const lines = ['Usage: skiff <command> [flags]', '', 'Commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(20)} ${c.summary}`);
  lines.push('', 'Run "skiff <command> --help" for the flags of a command.');
  return lines.join('\n');
}

const [cmd, ...rest] = process.argv.slice(2);
if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
  console.log(usage());
  process.exit(cmd ? 0 : 1);
}
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
const c = COMMANDS[cmd];
if (!c) {
  console.error(`skiff: unknown command "${cmd}"\n\n${usage()}`);
  process.exit(2);
}
try {
  await c.run(rest);
} catch (e) {
  console.error(`skiff ${cmd}: ${(e as Error).message}`);
  process.exit(1);
}
