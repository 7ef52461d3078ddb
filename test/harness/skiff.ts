/**
 * Start a real `skiff server` (or apiserver) as a child process for end-to-end tests: its own temporary data folder,
 * a free port on 127.0.0.1, and a stop() that kills it by PID and removes the folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';
import { eventually } from './eventually.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface SkiffProcess {
  dataDir: string;
  port: number;
  url: string;
  kubeconfig: string;
  child: ChildProcess;
  output(): string;
  /** SIGKILL, as a crash would */
  kill9(): Promise<void>;
  /** SIGINT (Ctrl-C) and wait for exit */
  stop(): Promise<number | null>;
  /** remove the data folder (after stop) */
  cleanup(): void;
}

/**
 * Removes a data folder a node agent used, also when something went wrong: the processes started for it (its
 * containerd and that containerd's shims, found by their command lines) are killed and the mounts below it released.
 */
export function releaseFolder(dir: string): void {
  if (!existsSync(dir)) return;
  // containerd and its shims name the folder on their command line; the containers are the shims' children
  const children = new Map<number, number[]>();
  const targets: number[] = [];
  for (const pid of readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)) {
    try {
      const ppid = Number(
        readFileSync(`/proc/${pid}/stat`, 'utf8')
          .replace(/^.*\) /, '')
          .split(' ')[1],
      );
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid)!.push(pid);
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(`${dir}/`) && /containerd/.test(cmd)) targets.push(pid);
    } catch {
      /* exited */
    }
  }
  const all = new Set<number>();
  const add = (pid: number) => {
    if (all.has(pid)) return;
    all.add(pid);
    for (const c of children.get(pid) ?? []) add(c);
  };
  targets.forEach(add);
  for (const pid of all) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m && (m === dir || m.startsWith(dir + '/')))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) if (c.exitCode === null) c.kill('SIGKILL');
});

export async function startSkiff(
  opts: {
    dataDir?: string;
    port?: number;
    store?: string;
    command?: string;
    args?: string[];
    env?: Record<string, string>;
    agent?: boolean;
    nodeArgs?: string[];
  } = {},
): Promise<SkiffProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'skiff-e2e-'));
  const port = opts.port ?? (await freePort());
  const args = [opts.command ?? 'server', '--bind-address', '127.0.0.1'];
  if (opts.store) args.push('--store', opts.store);
  if ((opts.command ?? 'server') === 'server') args.push(...(opts.agent ? ['--agent-port', '0'] : ['--disable-agent']));
  if (opts.args) args.push(...opts.args);
  // SKIFF_SERVER_NODE_ARGS: node flags for the server process, e.g. --cpu-prof to profile it
  const nodeArgs = [...(opts.nodeArgs ?? []), ...(process.env.SKIFF_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  // as users start it: the skiff command (bin/skiff: node with the role's flags and the allocator)
  const child = spawn(path.join(ROOT, 'bin/skiff'), args, {
    cwd: ROOT,
    env: {
      ...process.env,
      SKIFF_DATA_DIR: dataDir,
      SKIFF_API_PORT: String(port),
      SKIFF_NODE_ARGS: nodeArgs.join(' '),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  // generous: a server started from the sources on a loaded machine takes a while; one ready early ends the wait
  await eventually(
    'skiff became ready',
    () => {
      if (out.includes('Press Ctrl-C to stop')) return true;
      if (child.exitCode !== null) throw new Error(`skiff exited early (code ${child.exitCode})`);
      return false;
    },
    90_000,
    { failFast: true },
  ).catch(async (e: unknown) => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    if (!opts.dataDir) releaseFolder(dataDir);
    throw new Error(`${(e as Error).message}:\n${out}`, { cause: e });
  });
  const kubeconfig = path.join(dataDir, 'kubeconfig');
  return {
    dataDir,
    port,
    url: `https://127.0.0.1:${port}`,
    kubeconfig,
    child,
    output: () => out,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
    cleanup() {
      releaseFolder(dataDir);
    },
  };
}
