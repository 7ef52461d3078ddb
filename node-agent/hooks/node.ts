/**
 * The Node object of this host: registered (or taken over), then its status and its Lease in kube-node-lease kept
 * current; the agent's watch of Nodes keeps the reporter's copy fresh.
 */
import type { Node } from '../objects.ts';
import { NodeStatusReporter } from '../node/node-status.ts';
import type { Hook } from './hook.ts';
import type { AgentState } from './state.ts';

export const KUBELET_VERSION = 'v1.33.0-skiff';

export class NodeHook implements Hook {
  readonly name = 'node';
  private status?: NodeStatusReporter;

  constructor(private readonly s: AgentState) {}

  async start(): Promise<void> {
    const { s } = this;
    const o = s.options;
    const status = new NodeStatusReporter({
      client: o.client,
      nodeName: o.nodeName,
      nodeIP: s.nodeIP,
      dataDir: o.dataDir,
      labels: o.labels,
      taints: o.taints,
      podCIDR: o.podCIDR,
      kubeletVersion: KUBELET_VERSION,
      runtimeVersion: () => s.runtimeVersion,
      port: () => s.streaming?.port ?? 0,
      notReadyReason: () => s.networkError,
      images: () => s.cri.listImages(),
      log: s.log,
    });
    this.status = status;
    await status.register();
    s.status = status;
    const observe = (n: Node) => {
      if (n.metadata.name === o.nodeName) status.observe(n);
    };
    s.informers.nodes.addEventHandler({ onAdd: observe, onUpdate: (_, n) => observe(n) });
    status.start();
  }

  async stop(): Promise<void> {
    this.status?.stop();
  }

  abandon(): void {
    this.status?.stop();
  }
}
