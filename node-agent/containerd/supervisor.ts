/**
 * Runs and supervises the node's own containerd: writes its configuration, starts it (in a network namespace when the
 * node is one, through nsenter so the cgroup mounts stay visible), waits until CRI answers, restarts it when it dies,
 * and stops it on shutdown. A containerd left running by an agent that was killed is adopted, not started twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync, closeSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CriClient } from '../cri/client.ts';
import { containerdConfig, containerdLayout, type ContainerdLayout } from './config.ts';

export interface ContainerdOptions {
  dir: string;
  sandboxImage: string;
  /** Network namespace path (/run/netns/NAME) containerd and therefore every pod of the node lives in. */
  netns?: string;
  cniBinDir?: string;
  binary?: string;
  log?: (msg: string) => void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ContainerdSupervisor {
  readonly layout: ContainerdLayout;
  private child?: ChildProcess;
  private pid?: number;
  private stopping = false;
  private restarts = 0;
  private readonly log: (msg: string) => void;

  constructor(private readonly opts: ContainerdOptions) {
    this.layout = containerdLayout(opts.dir, opts.cniBinDir);
    this.log = opts.log ?? ((m) => console.log(`[containerd] ${m}`));
  }

  get socket(): string {
    return this.layout.socket;
  }

  private get pidFile(): string {
    return path.join(this.layout.dir, 'containerd.pid');
  }

  async start(): Promise<void> {
    const l = this.layout;
    for (const d of [l.dir, l.root, l.state, l.runcRoot, l.optDir, l.cniConfDir, l.registryConfigDir])
      mkdirSync(d, { recursive: true });
    writeFileSync(l.configFile, containerdConfig(l, this.opts.sandboxImage));
    const previous = existsSync(this.pidFile) ? Number(readFileSync(this.pidFile, 'utf8')) : 0;
    if (previous && alive(previous) && commandOf(previous).includes(l.configFile)) {
      this.pid = previous;
      this.log(`adopting the running containerd (pid ${previous})`);
      if (await this.ready(10_000)) {
        void this.watchAdopted();
        return;
      }
      this.log(`containerd pid ${previous} does not answer; restarting it`);
      await this.kill(previous);
    }
    await this.spawn();
  }

  private async spawn(): Promise<void> {
    const l = this.layout;
    const bin = this.opts.binary ?? 'containerd';
    const args = ['--config', l.configFile];
    const [cmd, argv] = this.opts.netns ? ['nsenter', [`--net=${this.opts.netns}`, '--', bin, ...args]] : [bin, args];
    const out = openSync(path.join(l.dir, 'containerd.log'), 'a');
    // its own process group: Ctrl-C in a terminal must not kill it before the agent has stopped its pods through it
    const child = spawn(cmd, argv, { stdio: ['ignore', out, out], detached: true });
    closeSync(out);
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e) =>
        reject(
          new Error(
            `cannot start containerd (${cmd}): ${e.message}; install it with: apt-get install -y containerd runc`,
          ),
        ),
      );
    });
    this.pid = child.pid!;
    writeFileSync(this.pidFile, String(this.pid));
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.stopping) return;
      this.log(
        `containerd exited (${signal ?? `code ${code}`}); see ${path.join(l.dir, 'containerd.log')}; restarting`,
      );
      void this.restart();
    });
    if (!(await this.ready(30_000))) {
      throw new Error(
        `containerd did not answer on ${l.socket} within 30 s; see ${path.join(l.dir, 'containerd.log')}`,
      );
    }
  }

  private async restart(): Promise<void> {
    this.restarts++;
    await sleep(Math.min(30_000, 500 * 2 ** Math.min(this.restarts, 6)));
    if (this.stopping) return;
    try {
      await this.spawn();
    } catch (e) {
      this.log((e as Error).message);
    }
  }

  /** An adopted containerd is not our child: notice its death by polling its pid, rarely. */
  private async watchAdopted(): Promise<void> {
    const pid = this.pid!;
    while (!this.stopping && this.pid === pid && alive(pid)) await sleep(2000);
    if (!this.stopping && this.pid === pid) {
      this.log('the adopted containerd exited; starting a new one');
      await this.restart();
    }
  }

  /** Waits until CRI answers Version. */
  async ready(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (existsSync(this.layout.socket)) {
        const c = new CriClient(this.layout.socket, { timeoutMs: 2000 });
        try {
          await c.version();
          return true;
        } catch {
          /* not yet */
        } finally {
          c.close();
        }
      }
      await sleep(50);
    }
    return false;
  }

  private async kill(pid: number, graceMs = 10_000): Promise<void> {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    const deadline = Date.now() + graceMs;
    while (alive(pid) && Date.now() < deadline) await sleep(50);
    if (alive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      while (alive(pid)) await sleep(20);
    }
  }

  /** Stops containerd (pods keep running in their shims unless they were stopped through CRI first). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.pid) await this.kill(this.pid);
    rmSync(this.pidFile, { force: true });
  }

  /** Forgets containerd without stopping it, as a killed agent would. */
  detach(): void {
    this.stopping = true;
    this.child?.unref();
  }
}
