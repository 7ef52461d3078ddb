/**
 * What the agent's hooks share: the agent's settings, the API watches every hook reads, and what each hook makes for
 * the hooks after it (the CRI client, the Node's reporter, the runtime cache). Reading a part before the hook that
 * makes it has started is an error that names that hook.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InformerFactory, type Informer } from '../../lib/kube/informer.ts';
import { EndpointSlices, Nodes, Pods, Services } from '../../lib/kube/resources.ts';
import type { CriClient } from '../cri/client.ts';
import type { ContainerdSupervisor } from '../containerd/supervisor.ts';
import { BRIDGE } from '../network/cni.ts';
import type { NodeStatusReporter } from '../node/node-status.ts';
import { asView, type EndpointSlice, type Node, type Pod, type Service } from '../objects.ts';
import type { RuntimeCache } from '../pods/runtime-cache.ts';
import { parseResolvConf, type NodeContext } from '../pods/spec.ts';
import type { AgentServer } from '../streaming/server.ts';
import type { NodeAgentOptions } from '../agent.ts';

/** the watches of the API the hooks share; they start in the "informers" hook, after every handler is registered */
export interface AgentInformers {
  factory: InformerFactory;
  /** the pods bound to this node */
  pods: Informer<Pod>;
  nodes: Informer<Node>;
  services: Informer<Service>;
  slices: Informer<EndpointSlice>;
}

/** parts one hook makes and later hooks read, with the hook that makes each */
interface Parts {
  cri: CriClient;
  status: NodeStatusReporter;
  runtime: RuntimeCache;
}
const MADE_BY: Record<keyof Parts, string> = { cri: 'runtime', status: 'node', runtime: 'pods' };

export class AgentState {
  readonly informers: AgentInformers;
  /** the agent's own containerd (none with --cri-socket) */
  containerd?: ContainerdSupervisor;
  /** `containerd://1.6.20`, once the runtime answered */
  runtimeVersion = '';
  /** why the node cannot run pods yet (its Ready condition's message), until the pod network is configured */
  networkError?: string = 'network plugin not ready: the node has no pod CIDR yet';
  /** the logs and exec server, when it runs */
  streaming?: AgentServer;
  private readonly made: Partial<Parts> = {};
  private context?: NodeContext;

  constructor(
    readonly options: NodeAgentOptions,
    readonly nodeIP: string,
    readonly log: (msg: string) => void,
  ) {
    const factory = new InformerFactory(options.client);
    this.informers = {
      factory,
      pods: factory.informer(asView<Pod>(Pods), { fieldSelector: `spec.nodeName=${options.nodeName}` }),
      nodes: factory.informer(asView<Node>(Nodes)),
      services: factory.informer(asView<Service>(Services)),
      slices: factory.informer(asView<EndpointSlice>(EndpointSlices)),
    };
  }

  get nodeName(): string {
    return this.options.nodeName;
  }

  get bridge(): string {
    return this.options.bridge ?? BRIDGE;
  }

  get criSocket(): string {
    if (this.options.criSocket) return this.options.criSocket;
    if (!this.containerd) throw new Error('node agent: the CRI socket is read before the "runtime" hook started');
    return this.containerd.socket;
  }

  dir(...p: string[]): string {
    return path.join(this.options.dataDir, ...p);
  }

  /** what pods of this node are configured from (read once: the host's resolv.conf and memory) */
  get nodeContext(): NodeContext {
    if (this.context) return this.context;
    const o = this.options;
    const hostResolv = parseResolvConf(existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : '');
    this.context = {
      nodeName: o.nodeName,
      nodeIP: this.nodeIP,
      podsDir: this.dir('pods'),
      cgroupRoot: o.cgroupRoot ?? `/skiff/${o.nodeName}`,
      clusterDNS: o.clusterDNS ?? [],
      clusterDomain: o.clusterDomain ?? 'cluster.local',
      hostResolv,
      memoryCapacity: Number(readFileSync('/proc/meminfo', 'utf8').match(/MemTotal:\s+(\d+)/)?.[1] ?? 0) * 1024,
    };
    return this.context;
  }

  get cri(): CriClient {
    return this.need('cri');
  }
  set cri(c: CriClient) {
    this.made.cri = c;
  }

  get status(): NodeStatusReporter {
    return this.need('status');
  }
  set status(s: NodeStatusReporter) {
    this.made.status = s;
  }

  get runtime(): RuntimeCache {
    return this.need('runtime');
  }
  set runtime(r: RuntimeCache) {
    this.made.runtime = r;
  }

  private need<K extends keyof Parts>(part: K): Parts[K] {
    const v = this.made[part];
    if (v === undefined) throw new Error(`node agent: ${part} is read before the "${MADE_BY[part]}" hook started`);
    return v as Parts[K];
  }
}
