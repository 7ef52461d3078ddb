/**
 * The container runtime: the agent's own supervised containerd (with a hosts.toml per plain-HTTP registry), or an
 * existing CRI socket; then the CRI client every later hook uses, once the runtime answers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CriClient } from '../cri/client.ts';
import { registryHostsToml } from '../containerd/config.ts';
import { ContainerdSupervisor } from '../containerd/supervisor.ts';
import { PAUSE_IMAGE } from '../images/builtin.ts';
import type { Hook } from './hook.ts';
import type { AgentState } from './state.ts';

export class RuntimeHook implements Hook {
  readonly name = 'runtime';
  private cri?: CriClient;

  constructor(private readonly s: AgentState) {}

  async start(): Promise<void> {
    const o = this.s.options;
    if (!o.criSocket) await this.startContainerd();
    const socket = this.s.criSocket;
    this.cri = new CriClient(socket);
    const v = await this.cri.version().catch((e: Error) => {
      throw new Error(
        `cannot reach the container runtime's CRI socket ${socket}: ${e.message.replace(/^CRI Version: /, '')} (is containerd running there?)`,
      );
    });
    this.s.runtimeVersion = `${v.runtime_name}://${v.runtime_version}`;
    this.s.cri = this.cri;
  }

  private async startContainerd(): Promise<void> {
    const o = this.s.options;
    const containerd = new ContainerdSupervisor({
      dir: this.s.dir('containerd'),
      sandboxImage: PAUSE_IMAGE,
      netns: o.netns,
      log: (m) => this.s.log(`containerd: ${m}`),
    });
    // set before it starts: a start that fails part way still has a containerd to stop
    this.s.containerd = containerd;
    await containerd.start();
    for (const [name, server] of Object.entries(o.registries ?? {})) {
      const dir = path.join(containerd.layout.registryConfigDir, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'hosts.toml'), registryHostsToml(server));
    }
  }

  async stop(): Promise<void> {
    this.cri?.close();
    await this.s.containerd?.stop();
  }

  abandon(): void {
    this.s.containerd?.detach();
  }
}
