/**
 * The node agent: one per host. Its subsystems are hooks (hooks/), started in the order of the list below and stopped
 * in reverse by one loop (HookRunner); a failure names its hook, and a hook that fails to start leaves the hooks
 * started before it stopped.
 */
import { mkdirSync } from 'node:fs';
import type { ApiClient } from '../lib/kube/api.ts';
import type { Taint } from '../lib/kube/taints.ts';
import type { Component } from '../lib/component.ts';
import type { CriClient } from './cri/client.ts';
import { defaultNodeIP } from './node/host.ts';
import type { Hook } from './hooks/hook.ts';
import { AgentState } from './hooks/state.ts';
import { RuntimeHook } from './hooks/runtime.ts';
import { ImagesHook } from './hooks/images.ts';
import { NodeHook } from './hooks/node.ts';
import { NetworkHook } from './hooks/network.ts';
import { ServiceProxyHook } from './hooks/service-proxy.ts';
import { DnsHook } from './hooks/dns.ts';
import { InformersHook } from './hooks/informers.ts';
import { PodsHook } from './hooks/pods.ts';
import { StreamingHook } from './hooks/streaming.ts';
import { MetricsHook } from './hooks/metrics.ts';

export { KUBELET_VERSION } from './hooks/node.ts';

/** The agent's hooks, in start order; they stop in reverse. Each reads what the hooks above it made. */
function agentHooks(s: AgentState): Hook[] {
  return [
    new RuntimeHook(s), // the agent's containerd (or an existing CRI socket) and the CRI client
    new ImagesHook(s), // the pause and busybox images, built from the host's packages when missing
    new NodeHook(s), // the Node object, its status and its Lease
    new NetworkHook(s), // CNI configuration for the node's pod CIDR, masquerade, host-gw routes to other nodes
    new ServiceProxyHook(s), // ClusterIPs and node ports: iptables or userspace
    new DnsHook(s), // cluster DNS on a node-local address
    new InformersHook(s), // the API watches the hooks above registered their handlers on
    new PodsHook(s), // the runtime relist and one worker per pod bound here
    new StreamingHook(s), // logs, exec, attach and port-forward for the API server
    new MetricsHook(s), // PodMetrics and NodeMetrics
  ];
}

export interface NodeAgentOptions {
  client: ApiClient;
  nodeName: string;
  /** the node's address (default: the address of the default route's interface) */
  nodeIP?: string;
  /** containerd, pod folders, logs and images live here */
  dataDir: string;
  /** an existing CRI socket instead of a containerd of the agent's own */
  criSocket?: string;
  /** run the agent's containerd in this network namespace (/run/netns/NAME) */
  netns?: string;
  /** the nameservers ClusterFirst pods get (kubelet's clusterDNS) */
  clusterDNS?: string[];
  /** serve cluster DNS from this agent on the first clusterDNS address (added to the node when missing) */
  embeddedDNS?: boolean;
  /** service proxy: iptables (default; userspace where iptables does not work), userspace, or none */
  proxyMode?: 'iptables' | 'userspace' | 'none';
  clusterDomain?: string;
  clusterCIDR?: string;
  /** the node's pod CIDR when no node-ipam controller assigns one */
  podCIDR?: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  /** stop and remove every pod when the agent stops (default: pods keep running, as with the kubelet) */
  stopPodsOnExit?: boolean;
  /** port of the agent's logs/exec server (kubelet's 10250; 0 picks a free one) */
  port?: number;
  /** registries reached over plain HTTP: name -> server URL (a hosts.toml each) */
  registries?: Record<string, string>;
  /** the node's CNI bridge (default skiff0) */
  bridge?: string;
  /** every pod cgroup goes below this one (default /skiff/<node>) */
  cgroupRoot?: string;
  /** how often the runtime is relisted (default 1 s) */
  relistMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  log?: (msg: string) => void;
}

/**
 * A hook's failure, naming the hook. An API status code of the cause stays readable as `code` (the command's advice
 * on a 401 reads it).
 */
export class HookError extends Error {
  readonly code?: number;

  constructor(
    readonly hook: string,
    action: 'starting' | 'stopping',
    cause: unknown,
  ) {
    super(`node agent: ${action} "${hook}" failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
    if (typeof code === 'number') this.code = code;
  }
}

/**
 * The one loop over the agent's hooks: starts them in list order and stops them in reverse. A hook whose start was
 * called is stopped too when it failed, so a half-started subsystem (a containerd that never answered) is undone.
 */
export class HookRunner {
  /** the hooks whose start was called, in start order */
  private running: Hook[] = [];
  private started = false;

  constructor(
    private readonly hooks: readonly Hook[],
    private readonly log: (msg: string) => void,
  ) {}

  /** Starts every hook in order; on a failure, stops what started (in reverse) and throws the failure, named. */
  async start(): Promise<void> {
    for (const hook of this.hooks) {
      this.running.push(hook);
      try {
        await hook.start();
      } catch (e) {
        const err = new HookError(hook.name, 'starting', e);
        await this.stop().catch((stopErr: Error) => this.log(stopErr.message));
        throw err;
      }
    }
    this.started = true;
  }

  /** Stops the started hooks in reverse; every one is stopped even when another fails, and each failure is named. */
  async stop(): Promise<void> {
    this.started = false;
    const failures: HookError[] = [];
    for (const hook of this.running.splice(0).reverse()) {
      try {
        await hook.stop();
      } catch (e) {
        failures.push(new HookError(hook.name, 'stopping', e));
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new Error(failures.map((f) => f.message).join('; '), { cause: failures[0] });
  }

  /** every hook started, and none says it cannot do its work */
  ready(): boolean {
    return this.started && this.running.every((h) => h.ready?.() ?? true);
  }

  /** Forgets the started hooks without stopping them, in reverse. */
  abandon(): void {
    this.started = false;
    for (const hook of this.running.splice(0).reverse()) hook.abandon?.();
  }
}

export class NodeAgent implements Component {
  readonly name = 'node-agent';
  readonly nodeIP: string;
  private readonly state: AgentState;
  private readonly hooks: HookRunner;
  private readonly log: (msg: string) => void;

  constructor(o: NodeAgentOptions) {
    this.log = o.log ?? ((m) => console.log(`[agent ${o.nodeName}] ${m}`));
    this.nodeIP = o.nodeIP ?? defaultNodeIP();
    this.state = new AgentState(o, this.nodeIP, this.log);
    this.hooks = new HookRunner(agentHooks(this.state), this.log);
  }

  get bridge(): string {
    return this.state.bridge;
  }

  get criSocket(): string {
    return this.state.criSocket;
  }

  get cri_(): CriClient {
    return this.state.cri;
  }

  healthy(): boolean {
    return this.hooks.ready();
  }

  async start(): Promise<void> {
    // the data folder every hook writes below
    mkdirSync(this.state.dir('pods'), { recursive: true });
    await this.hooks.start();
    const s = this.state;
    this.log(`node ${s.nodeName} (${this.nodeIP}) ready: runtime ${s.runtimeVersion}, socket ${s.criSocket}`);
  }

  async stop(): Promise<void> {
    await this.hooks.stop();
  }

  /** Forgets everything without stopping pods or containerd, as a killed agent would (for tests). */
  abandon(): void {
    this.hooks.abandon();
  }
}
