/**
 * A real, throwaway etcd for tests: Debian's etcd-server (/usr/bin/etcd) on free 127.0.0.1 ports with a temp data
 * directory and normal fsync durability. stop() kills it and removes the directory; a process exit hook does the
 * same for anything a failing test left running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from './ports.ts';

export interface EtcdServer {
  /** host:port of the client URL, as etcd://<endpoint> wants it */
  endpoint: string;
  /** etcd://<endpoint> */
  url: string;
  /** the etcd process */
  pid: number;
  stop(): Promise<void>;
}

const ETCD_CANDIDATES = [process.env.SKIFF_ETCD_BIN, '/usr/bin/etcd', '/usr/local/bin/etcd'].filter(
  (p): p is string => !!p,
);
const running = new Set<{ child: ChildProcess; dir: string }>();
let hooked = false;

function cleanupAll(): void {
  for (const r of running) {
    try {
      if (r.child.pid) process.kill(r.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(r.dir, { recursive: true, force: true });
  }
  running.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', cleanupAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      cleanupAll();
      process.kill(process.pid, sig);
    });
  }
}

export function etcdBinary(): string {
  const bin = ETCD_CANDIDATES.find((p) => existsSync(p));
  if (!bin) {
    throw new Error(
      'etcd is not installed: run `apt-get install etcd-server` (or set SKIFF_ETCD_BIN to an etcd binary)',
    );
  }
  return bin;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function healthy(clientPort: number): Promise<boolean> {
  if (!(await canConnect(clientPort))) return false;
  try {
    const res = await fetch(`http://127.0.0.1:${clientPort}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return res.ok && body.health === 'true';
  } catch {
    return false;
  }
}

export async function startEtcd(opts: { timeoutMs?: number } = {}): Promise<EtcdServer> {
  const bin = etcdBinary();
  hookExit();
  const [clientPort, peerPort] = await freePorts(2);
  const dir = mkdtempSync(join(tmpdir(), 'skiff-etcd-'));
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (process.arch !== 'x64') env.ETCD_UNSUPPORTED_ARCH = process.arch === 'arm64' ? 'arm64' : process.arch;
  const child = spawn(
    bin,
    [
      '--name',
      'skiff-test',
      '--data-dir',
      join(dir, 'data'),
      '--listen-client-urls',
      clientUrl,
      '--advertise-client-urls',
      clientUrl,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `skiff-test=${peerUrl}`,
      '--initial-cluster-state',
      'new',
      '--log-level',
      'error',
    ],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const entry = { child, dir };
  running.add(entry);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });

  const stop = async (): Promise<void> => {
    if (!running.has(entry)) return;
    running.delete(entry);
    if (exited === undefined && child.pid) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`etcd ${exited} before becoming healthy: ${stderr.trim() || '(no output)'}`);
    }
    if (await healthy(clientPort)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`etcd did not become healthy on ${clientUrl} in time: ${stderr.trim() || '(no output)'}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const endpoint = `127.0.0.1:${clientPort}`;
  return { endpoint, url: `etcd://${endpoint}`, pid: child.pid!, stop };
}
