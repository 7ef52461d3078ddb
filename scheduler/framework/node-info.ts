/**
 * What the scheduler knows of one node: the Node, the pods on it (bound or assumed), the sum of their requests (and
 * of their non-zero requests, for scoring), the pods count, the host ports in use, and per-owner pod counts for the
 * default topology spreading. Kept up to date incrementally: adding or removing a pod costs O(its containers).
 */
import { controllerOf, keyOf } from '../../lib/kube/object.ts';
import type { Container, Node, Pod } from '../../lib/kube/types/core-v1.ts';
import { add, nodeAllocatable, podNonZeroRequests, podRequests, subtract, zero, type Resources } from './resources.ts';

export class NodeInfo {
  readonly pods = new Map<string, Pod>();
  readonly requested: Resources = zero();
  /** requests with a container's missing cpu/memory counted as 100m/200Mi (what resource scoring uses) */
  readonly nonZeroRequested: Resources = zero();
  allocatable: Resources = zero();
  allowedPods = 110;
  /** "TCP/0.0.0.0/80" for each host port in use, with how many pods use it */
  readonly usedPorts = new Map<string, number>();
  /** controller owner uid -> pods of that owner here */
  readonly ownerCounts = new Map<string, number>();
  /** pods here with required anti-affinity terms */
  podsWithRequiredAntiAffinity = 0;
  /** pods here with any pod affinity or anti-affinity */
  podsWithAffinity = 0;
  /** bumped on every change */
  generation = 0;

  constructor(public node: Node) {
    this.setNode(node);
  }

  get name(): string {
    return this.node.metadata.name!;
  }

  setNode(node: Node): void {
    this.node = node;
    const a = nodeAllocatable(node);
    this.allocatable = a.res;
    this.allowedPods = a.pods;
    this.generation++;
  }

  addPod(pod: Pod): void {
    const key = keyOf(pod);
    const old = this.pods.get(key);
    if (old) this.removePod(old);
    this.pods.set(key, pod);
    add(this.requested, podRequests(pod));
    add(this.nonZeroRequested, podNonZeroRequests(pod));
    for (const p of hostPorts(pod)) this.usedPorts.set(p, (this.usedPorts.get(p) ?? 0) + 1);
    const owner = controllerOf(pod)?.uid;
    if (owner) this.ownerCounts.set(owner, (this.ownerCounts.get(owner) ?? 0) + 1);
    if (hasRequiredAntiAffinity(pod)) this.podsWithRequiredAntiAffinity++;
    if (hasPodAffinity(pod)) this.podsWithAffinity++;
    this.generation++;
  }

  removePod(pod: Pod): void {
    const key = keyOf(pod);
    const cur = this.pods.get(key);
    if (!cur) return;
    this.pods.delete(key);
    subtract(this.requested, podRequests(cur));
    subtract(this.nonZeroRequested, podNonZeroRequests(cur));
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
    if (hasRequiredAntiAffinity(cur)) this.podsWithRequiredAntiAffinity--;
    if (hasPodAffinity(cur)) this.podsWithAffinity--;
    this.generation++;
  }

  /** a copy to try changes on (preemption's dry run); O(pods on the node) */
  clone(): NodeInfo {
    const c = new NodeInfo(this.node);
    for (const p of this.pods.values()) c.addPod(p);
    return c;
  }

  labels(): Record<string, string> {
    return this.node.metadata.labels ?? {};
  }
}

export function hasRequiredAntiAffinity(pod: Pod): boolean {
  return !!pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length;
}

export function hasPodAffinity(pod: Pod): boolean {
  return !!(pod.spec?.affinity?.podAffinity || pod.spec?.affinity?.podAntiAffinity);
}

/** spec.priority, 0 when unset (the admission of PriorityClasses fills it in) */
export function podPriority(pod: Pod): number {
  return typeof pod.spec?.priority === 'number' ? pod.spec.priority : 0;
}

/** the host ports a pod asks for, as "protocol/hostIP/port" (sidecar init containers included) */
export function hostPorts(pod: Pod): string[] {
  const out: string[] = [];
  const collect = (c: Container) => {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      out.push(`${p.protocol ?? 'TCP'}/${p.hostIP || '0.0.0.0'}/${p.hostPort}`);
    }
  };
  for (const c of pod.spec?.containers ?? []) collect(c);
  for (const c of pod.spec?.initContainers ?? []) if (c.restartPolicy === 'Always') collect(c);
  return out;
}
