/**
 * The node IPAM controller: every Node without spec.podCIDR gets the next free range of the cluster CIDR (a /24 of
 * a /16 by default), written with a merge patch of spec.podCIDR and spec.podCIDRs. The ranges of existing nodes are
 * marked taken before anything is handed out; a deleted node's range is released. When the cluster CIDR is full
 * the node gets a CIDRNotAvailable event and is tried again later.
 */
import type { ApiClient } from '../../lib/kube/api.ts';
import { isNotFound } from '../../lib/kube/api.ts';
import type { EventRecorder } from '../../lib/kube/events.ts';
import type { Informer } from '../../lib/kube/informer.ts';
import { Nodes } from '../../lib/kube/resources.ts';
import type { ControllerContext, ControllerDefinition, Reconciler, Result } from '../controller.ts';
import { CidrSet } from './cidr-set.ts';

/** how long a node waits before trying again when no range is free */
export const FULL_RETRY_MS = 30_000;

export const nodeIpamController: ControllerDefinition<NodeIpamReconciler> = {
  name: 'node-ipam',
  component: 'node-ipam-controller',
  workers: 1,
  singleton: true,
  // a node without a range, or whose range changed
  for: { resource: Nodes, update: (old, n) => !n.spec?.podCIDR || old.spec?.podCIDR !== n.spec.podCIDR },
  reconciler: (ctx) => new NodeIpamReconciler(ctx),
};

export class NodeIpamReconciler implements Reconciler {
  /** the range this controller knows each node holds */
  private held = new Map<string, string>();
  private primed = false;
  private set: CidrSet;
  private readonly client: ApiClient;
  private readonly nodes: Informer;
  private readonly newSet: () => CidrSet;
  private readonly recorder: EventRecorder;

  constructor(private readonly ctx: ControllerContext) {
    this.client = ctx.client;
    this.nodes = ctx.informers.informer(Nodes);
    this.newSet = () => new CidrSet(ctx.options.clusterCIDR, ctx.options.nodeCIDRMaskSize);
    this.recorder = ctx.recorder;
    this.set = this.newSet();
  }

  /**
   * taking over from another controller manager (shared queue): the table is rebuilt from a fresh list of the
   * nodes (the cache may not show the last ranges the previous holder gave yet), then every node is looked at
   */
  async onStartedLeading(): Promise<void> {
    const list = await this.client.list(Nodes);
    this.set = this.newSet();
    this.held = new Map();
    this.primed = true;
    for (const n of list.items) if (n.spec?.podCIDR) this.hold(n.metadata.name!, n.spec.podCIDR);
    for (const n of list.items) if (!n.spec?.podCIDR) this.ctx.enqueue(n.metadata.name!);
  }

  async reconcile(name: string): Promise<Result | void> {
    this.prime();
    const node = this.nodes.get(name);
    if (!node) {
      const cidr = this.held.get(name);
      if (cidr) {
        this.set.release(cidr);
        this.held.delete(name);
      }
      return;
    }
    if (node.spec?.podCIDR) {
      this.hold(name, node.spec.podCIDR);
      return;
    }
    // a range given earlier whose patch the cache has not shown yet is given again, not a new one
    let cidr = this.held.get(name);
    if (!cidr) {
      cidr = this.set.allocate();
      if (!cidr) {
        this.recorder.event(node, 'Normal', 'CIDRNotAvailable', `Node ${name} status is now: CIDRNotAvailable`);
        this.ctx.log(`no free range of /${this.set.maskSize} left in ${this.set.clusterCIDR} for node ${name}`);
        return { requeueAfterMs: FULL_RETRY_MS };
      }
      this.held.set(name, cidr);
    }
    try {
      await this.client.patch(Nodes, undefined, name, { spec: { podCIDR: cidr, podCIDRs: [cidr] } }, 'merge');
    } catch (e) {
      this.held.delete(name);
      this.set.release(cidr);
      if (isNotFound(e)) return;
      throw e;
    }
  }

  /** the ranges of the nodes already in the cache, taken before the first allocation */
  private prime(): void {
    if (this.primed) return;
    this.primed = true;
    for (const n of this.nodes.list()) if (n.spec?.podCIDR) this.hold(n.metadata.name!, n.spec.podCIDR);
  }

  private hold(name: string, cidr: string): void {
    const prev = this.held.get(name);
    if (prev === cidr) return;
    if (prev) this.set.release(prev);
    if (this.set.occupy(cidr)) this.held.set(name, cidr);
    else this.held.delete(name);
  }
}
