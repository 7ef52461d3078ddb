/**
 * NodeResourcesFit: the node has room for the pod's requests (cpu, memory, ephemeral-storage, extended resources) and
 * one more pod; scores with LeastAllocated (the emptier node wins, cpu and memory weighted equally).
 */
import type { KubeObject } from '../../../lib/kube/object.ts';
import { CPU, EPHEMERAL, formatAmount, MEMORY, podRequests, type Resources } from '../../framework/resources.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import { SUCCESS, unschedulable, type ClusterView, type FilterPlugin, type HintPlugin, type ScorePlugin, type Status } from '../../framework/types.ts';

export const NAME = 'NodeResourcesFit';

/** requests counted for scoring: a pod without requests still weighs 100m cpu and 200Mi (Kubernetes' non-zero defaults) */
const DEFAULT_CPU = 100;
const DEFAULT_MEMORY = 200 * 2 ** 20;

function shortfalls(req: Resources, n: NodeInfo): { resource: string; need: number; free: number }[] {
  const out: { resource: string; need: number; free: number }[] = [];
  const check = (resource: string, need: number, alloc: number, used: number) => {
    if (need > 0 && need > alloc - used) out.push({ resource, need, free: Math.max(0, alloc - used) });
  };
  check(CPU, req.cpu, n.allocatable.cpu, n.requested.cpu);
  check(MEMORY, req.memory, n.allocatable.memory, n.requested.memory);
  check(EPHEMERAL, req.ephemeralStorage, n.allocatable.ephemeralStorage, n.requested.ephemeralStorage);
  if (req.scalar) {
    for (const [k, v] of Object.entries(req.scalar)) check(k, v, n.allocatable.scalar?.[k] ?? 0, n.requested.scalar?.[k] ?? 0);
  }
  return out;
}

export const nodeResourcesFit = {
  name: NAME,
  filter(_state, pod: KubeObject, n: NodeInfo): Status {
    const reasons: string[] = [];
    if (n.pods.size + 1 > n.allowedPods) reasons.push('Too many pods');
    for (const s of shortfalls(podRequests(pod), n)) reasons.push(`Insufficient ${s.resource}`);
    return reasons.length ? unschedulable(...reasons) : SUCCESS;
  },
  score(_state, pod: KubeObject, n: NodeInfo): number {
    const req = podRequests(pod);
    const cpu = req.cpu || DEFAULT_CPU;
    const mem = req.memory || DEFAULT_MEMORY;
    const least = (alloc: number, used: number) => (alloc <= 0 || used > alloc ? 0 : ((alloc - used) * 100) / alloc);
    return Math.floor((least(n.allocatable.cpu, n.requested.cpu + cpu) + least(n.allocatable.memory, n.requested.memory + mem)) / 2);
  },
  hint(pod: KubeObject, n: NodeInfo, cluster: ClusterView): string | undefined {
    const req = podRequests(pod);
    const parts: string[] = [];
    if (n.pods.size + 1 > n.allowedPods) parts.push(`the node already runs ${n.pods.size} of its ${n.allowedPods} pods`);
    for (const s of shortfalls(req, n)) {
      let best: NodeInfo | undefined;
      let bestFree = -1;
      for (const o of cluster.nodes()) {
        const free = freeOf(s.resource, o);
        if (free > bestFree) {
          bestFree = free;
          best = o;
        }
      }
      parts.push(
        `needs ${formatAmount(s.resource, s.need)} ${s.resource}, ${formatAmount(s.resource, s.free)} free here` +
          (best ? `; largest free is ${formatAmount(s.resource, Math.max(0, bestFree))} on ${best.name}` : ''),
      );
    }
    return parts.join('; ') || undefined;
  },
} satisfies FilterPlugin & ScorePlugin & HintPlugin;

function freeOf(resource: string, n: NodeInfo): number {
  if (resource === CPU) return n.allocatable.cpu - n.requested.cpu;
  if (resource === MEMORY) return n.allocatable.memory - n.requested.memory;
  if (resource === EPHEMERAL) return n.allocatable.ephemeralStorage - n.requested.ephemeralStorage;
  return (n.allocatable.scalar?.[resource] ?? 0) - (n.requested.scalar?.[resource] ?? 0);
}
