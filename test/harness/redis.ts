/**
 * A real, throwaway Redis for tests: Debian's redis-server on a free 127.0.0.1 port, without persistence, working in
 * a temp directory. stop() kills it by PID and removes the directory; a process exit hook does the same for anything
 * a failing test left running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';

export interface RedisServer {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  stop(): Promise<void>;
}

const REDIS_CANDIDATES = [process.env.SKIFF_REDIS_BIN, '/usr/bin/redis-server', '/usr/local/bin/redis-server'].filter(
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

export function redisBinary(): string {
  const bin = REDIS_CANDIDATES.find((p) => existsSync(p));
  if (!bin)
    throw new Error(
      'redis-server is not installed: run `apt-get install redis-server` (or set SKIFF_REDIS_BIN to a redis-server binary)',
    );
  return bin;
}

/** true once the server answers PING with PONG */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    const finish = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => finish(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) finish(buf.startsWith('+PONG'));
    });
    s.once('error', () => finish(false));
  });
}

export async function startRedis(opts: { timeoutMs?: number } = {}): Promise<RedisServer> {
  const bin = redisBinary();
  hookExit();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'skiff-redis-'));
  const child = spawn(
    bin,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'yes',
      '--loglevel',
      'warning',
      '--daemonize',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const entry = { child, dir };
  running.add(entry);
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
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
      throw new Error(`redis-server ${exited} before answering: ${output.trim() || '(no output)'}`);
    }
    if (await pong(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not answer on 127.0.0.1:${port} in time: ${output.trim() || '(no output)'}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop };
}
