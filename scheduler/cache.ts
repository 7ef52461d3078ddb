/**
 * The scheduler's view of the cluster, fed by the Pod and Node informers: a NodeInfo per node with the pods bound
 * there, plus pods the scheduler has assumed (placed in its own view at Reserve, before the binding is written and
 * comes back through the watch), so that the next scheduling cycle never waits for its own bindings.
 */
import { keyOf } from '../lib/kube/object.ts';
import type { Node, Pod } from '../lib/kube/types/core-v1.ts';
import { NodeInfo } from './framework/node-info.ts';
import type { Snapshot } from './framework/types.ts';

export class SchedulerCache implements Snapshot {
  /** a cache filled from listed objects, for one-off questions (why-pending) */
  static fromObjects(nodes: Iterable<Node>, pods: Iterable<Pod>): SchedulerCache {
    const c = new SchedulerCache();
    for (const n of nodes) c.upsertNode(n);
    for (const p of pods) c.upsertPod(p);
    return c;
  }

  private readonly byName = new Map<string, NodeInfo>();
  private readonly list: NodeInfo[] = [];
  private readonly position = new Map<string, number>();
  /** pod key -> node name, for every pod counted on a node (bound or assumed) */
  private readonly podNode = new Map<string, string>();
  /** assumed pod keys -> node, until the binding is seen */
  private readonly assumed = new Map<string, string>();
  /** pods that reference a node not (yet) known: counted when it appears */
  private readonly waitingForNode = new Map<string, Map<string, Pod>>();
  private readonly antiAffinityNodes = new Set<NodeInfo>();
  private readonly affinityNodes = new Set<NodeInfo>();

  nodes(): readonly NodeInfo[] {
    return this.list;
  }

  node(name: string): NodeInfo | undefined {
    return this.byName.get(name);
  }

  nodesWithRequiredAntiAffinity(): Iterable<NodeInfo> {
    return this.antiAffinityNodes;
  }

  nodesWithAffinity(): Iterable<NodeInfo> {
    return this.affinityNodes;
  }

  nodeCount(): number {
    return this.list.length;
  }

  isAssumed(key: string): boolean {
    return this.assumed.has(key);
  }

  assumedCount(): number {
    return this.assumed.size;
  }

  // ---- nodes ----

  upsertNode(node: Node): void {
    const name = node.metadata.name!;
    const cur = this.byName.get(name);
    if (cur) {
      cur.setNode(node);
      return;
    }
    const ni = new NodeInfo(node);
    this.byName.set(name, ni);
    this.position.set(name, this.list.length);
    this.list.push(ni);
    const waiting = this.waitingForNode.get(name);
    if (waiting) {
      this.waitingForNode.delete(name);
      for (const p of waiting.values()) this.placePod(p, name);
    }
  }

  removeNode(name: string): void {
    const ni = this.byName.get(name);
    if (!ni) return;
    this.byName.delete(name);
    const i = this.position.get(name)!;
    const last = this.list.pop()!;
    if (last !== ni) {
      this.list[i] = last;
      this.position.set(last.name, i);
    }
    this.position.delete(name);
    this.antiAffinityNodes.delete(ni);
    this.affinityNodes.delete(ni);
    // pods of a removed node wait for it to come back (their objects still name it)
    const waiting = new Map<string, Pod>();
    for (const [k, p] of ni.pods) {
      waiting.set(k, p);
      this.podNode.delete(k);
    }
    if (waiting.size) this.waitingForNode.set(name, waiting);
  }

  // ---- pods ----

  /** a pod object from the watch: counted where it is bound; removed when it ends */
  upsertPod(pod: Pod): void {
    const key = keyOf(pod);
    const nodeName: string | undefined = pod.spec?.nodeName;
    const ended = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
    if (!nodeName || ended) {
      // not bound: only an assumed placement counts for it
      if (ended) this.removePod(pod);
      return;
    }
    this.assumed.delete(key);
    this.placePod(pod, nodeName);
  }

  removePod(pod: Pod): void {
    const key = keyOf(pod);
    this.assumed.delete(key);
    const at = this.podNode.get(key);
    if (at) {
      const ni = this.byName.get(at);
      ni?.removePod(pod);
      if (ni) this.trackAntiAffinity(ni);
      this.podNode.delete(key);
    }
    for (const w of this.waitingForNode.values()) w.delete(key);
  }

  /** counts the pod on the node now, before its binding is written */
  assume(pod: Pod, nodeName: string): void {
    // every pod has a spec (its containers are required)
    const assumedPod: Pod = { ...pod, spec: { ...pod.spec!, nodeName } };
    this.assumed.set(keyOf(pod), nodeName);
    this.placePod(assumedPod, nodeName);
  }

  /** the binding failed: the pod no longer counts on the node */
  forget(pod: Pod): void {
    const key = keyOf(pod);
    if (!this.assumed.has(key)) return;
    this.assumed.delete(key);
    const at = this.podNode.get(key);
    if (at) {
      const ni = this.byName.get(at);
      ni?.removePod(pod);
      if (ni) this.trackAntiAffinity(ni);
      this.podNode.delete(key);
    }
  }

  private placePod(pod: Pod, nodeName: string): void {
    const key = keyOf(pod);
    const prev = this.podNode.get(key);
    if (prev && prev !== nodeName) this.byName.get(prev)?.removePod(pod);
    const ni = this.byName.get(nodeName);
    if (!ni) {
      let w = this.waitingForNode.get(nodeName);
      if (!w) this.waitingForNode.set(nodeName, (w = new Map()));
      w.set(key, pod);
      return;
    }
    ni.addPod(pod);
    this.podNode.set(key, nodeName);
    this.trackAntiAffinity(ni);
  }

  private trackAntiAffinity(ni: NodeInfo): void {
    if (ni.podsWithRequiredAntiAffinity > 0) this.antiAffinityNodes.add(ni);
    else this.antiAffinityNodes.delete(ni);
    if (ni.podsWithAffinity > 0) this.affinityNodes.add(ni);
    else this.affinityNodes.delete(ni);
  }
}
