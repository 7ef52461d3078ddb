/**
 * Pod networking of this node: once the Node has a pod CIDR (from the node-ipam controller or --pod-cidr), the CNI
 * configuration for it and the masquerade rule for traffic leaving the cluster's pod range; host-gw routes to the
 * other nodes' pod CIDRs, kept in step with the watch of Nodes. Torn down at stop only when the pods are stopped too.
 */
import type { Node } from '../objects.ts';
import {
  ensureMasquerade,
  HostGwRoutes,
  masqChain,
  removeBridge,
  removeMasquerade,
  writeCniConfig,
} from '../network/cni.ts';
import type { Hook } from './hook.ts';
import type { AgentState } from './state.ts';

export class NetworkHook implements Hook {
  readonly name = 'network';
  private readonly routes: HostGwRoutes;
  private podCIDR?: string;
  /** configurations run one at a time, in the order the Node's versions arrive */
  private configuring: Promise<void> = Promise.resolve();

  constructor(private readonly s: AgentState) {
    this.routes = new HostGwRoutes(s.nodeName, s.log);
  }

  async start(): Promise<void> {
    const { s } = this;
    const node = s.status.current;
    if (node) await this.configureFor(node);
    const nodes = s.informers.nodes;
    const changed = (n: Node) => {
      if (n.metadata.name === s.nodeName) this.configureFor(n).catch((e) => s.log(`network: ${(e as Error).message}`));
      void this.routes.sync(nodes.list());
    };
    nodes.addEventHandler({
      onAdd: changed,
      onUpdate: (_, n) => changed(n),
      onDelete: () => void this.routes.sync(nodes.list()),
    });
  }

  private configureFor(node: Node): Promise<void> {
    const p = this.configuring.then(() => this.configure(node));
    this.configuring = p.catch(() => {});
    return p;
  }

  /** Writes the CNI configuration once the node has a pod CIDR, and again when it changes. */
  private async configure(node: Node): Promise<void> {
    const { s } = this;
    const cidr = node.spec?.podCIDR ?? s.options.podCIDR;
    if (!cidr || cidr === this.podCIDR) return;
    writeCniConfig({
      confDir: s.containerd ? s.containerd.layout.cniConfDir : '/etc/cni/net.d',
      ipamDir: s.dir('cni', 'ipam'),
      podCIDR: cidr,
      bridge: s.bridge,
    });
    await ensureMasquerade(cidr, s.options.clusterCIDR ?? '10.244.0.0/16', masqChain(s.bridge));
    await s.cri.updatePodCidr(cidr).catch(() => {});
    this.podCIDR = cidr;
    s.networkError = undefined;
    s.log(`pod network ${cidr} configured`);
    await s.status.reportStatus(true).catch(() => {});
  }

  async stop(): Promise<void> {
    if (!this.s.options.stopPodsOnExit) return; // the pods keep running, and need their network
    await this.routes.clear();
    await removeMasquerade(masqChain(this.s.bridge));
    await removeBridge(this.s.bridge);
  }
}
