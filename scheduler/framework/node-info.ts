/**
 * What the scheduler knows of one node: the Node, the pods on it (bound or assumed), the sum of their requests, the
 * host ports they use, and per-owner pod counts for the default topology spreading. Kept up to date incrementally.
 */
import { controllerOf, keyOf, type KubeObject } from '../../lib/kube/object.ts';
import { add, nodeAllocatable, podRequests, subtract, zero, type Resources } from './resources.ts';

export class NodeInfo {
  readonly pods = new Map<string, KubeObject>();
  readonly requested: Resources = zero();
  allocatable: Resources = zero();
  allowedPods = 110;
  /** "TCP/0.0.0.0/80" for each host port in use */
  readonly usedPorts = new Map<string, number>();
  /** controller owner uid -> pods of that owner here */
  readonly ownerCounts = new Map<string, number>();
  /** pods here with required anti-affinity terms */
  podsWithRequiredAntiAffinity = 0;
  /** pods here with any affinity terms */
  podsWithAffinity = 0;
  /** bumped on every change, for caches keyed on the node state */
  generation = 0;

  constructor(public node: KubeObject) {
    this.setNode(node);
  }

  get name(): string {
    return this.node.metadata.name!;
  }

  setNode(node: KubeObject): void {
    this.node = node;
    const a = nodeAllocatable(node);
    this.allocatable = a.res;
    this.allowedPods = a.pods;
    this.generation++;
  }

  addPod(pod: KubeObject): void {
    const key = keyOf(pod);
    const old = this.pods.get(key);
    if (old) this.removePod(old);
    this.pods.set(key, pod);
    add(this.requested, podRequests(pod));
    for (const p of hostPorts(pod)) this.usedPorts.set(p, (this.usedPorts.get(p) ?? 0) + 1);
    const owner = controllerOf(pod)?.uid;
    if (owner) this.ownerCounts.set(owner, (this.ownerCounts.get(owner) ?? 0) + 1);
    if (pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length) this.podsWithRequiredAntiAffinity++;
    if (pod.spec?.affinity?.podAffinity || pod.spec?.affinity?.podAntiAffinity) this.podsWithAffinity++;
    this.generation++;
  }

  removePod(pod: KubeObject): void {
    const key = keyOf(pod);
    const cur = this.pods.get(key);
    if (!cur) return;
    this.pods.delete(key);
    subtract(this.requested, podRequests(cur));
    for (const p of hostPorts(cur)) {
      const n = (this.usedPorts.get(p) ?? 1) - 1;
      if (n <= 0) this.usedPorts.delete(p);
      else this.usedPorts.set(p, n);
    }
    const owner = controllerOf(cur)?.uid;
    if (owner) {
      const n = (this.ownerCounts.get(owner) ?? 1) - 1;
      if (n <= 0) this.ownerCounts.delete(owner);
      else this.ownerCounts.set(owner, n);
    }
    if (cur.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length) this.podsWithRequiredAntiAffinity--;
    if (cur.spec?.affinity?.podAffinity || cur.spec?.affinity?.podAntiAffinity) this.podsWithAffinity--;
    this.generation++;
  }

  labels(): Record<string, string> {
    return this.node.metadata.labels ?? {};
  }
}

/** the host ports a pod asks for, as "protocol/hostIP/port" */
export function hostPorts(pod: KubeObject): string[] {
  const out: string[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      out.push(`${p.protocol ?? 'TCP'}/${p.hostIP || '0.0.0.0'}/${p.hostPort}`);
    }
  }
  return out;
}
