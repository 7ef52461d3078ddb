/**
 * NodeResourcesFit: the node has room for the pod's requests (cpu, memory, ephemeral-storage, extended resources) and
 * for one more pod. A request larger than the node's whole allocatable is UnschedulableAndUnresolvable (no preemption
 * can help); the rest is Unschedulable. Scores with LeastAllocated: the emptier node wins, cpu and memory weighted
 * equally, counting missing requests as 100m cpu / 200Mi.
 */
import type { Pod } from '../../../lib/kube/types/core-v1.ts';
import {
  CPU,
  EPHEMERAL,
  formatAmount,
  MEMORY,
  podNonZeroRequests,
  podRequests,
  type Resources,
} from '../../framework/resources.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import {
  MAX_NODE_SCORE,
  SUCCESS,
  type CycleState,
  type FilterPlugin,
  type HintPlugin,
  type ScorePlugin,
  type Snapshot,
  type Status,
} from '../../framework/types.ts';

export const NAME = 'NodeResourcesFit';

interface Shortfall {
  resource: string;
  need: number;
  free: number;
  /** more than the node's whole allocatable */
  unresolvable: boolean;
}

function shortfalls(req: Resources, n: NodeInfo): Shortfall[] {
  const out: Shortfall[] = [];
  const check = (resource: string, need: number, alloc: number, used: number) => {
    if (need > 0 && need > alloc - used)
      out.push({ resource, need, free: Math.max(0, alloc - used), unresolvable: need > alloc });
  };
  check(CPU, req.cpu, n.allocatable.cpu, n.requested.cpu);
  check(MEMORY, req.memory, n.allocatable.memory, n.requested.memory);
  check(EPHEMERAL, req.ephemeralStorage, n.allocatable.ephemeralStorage, n.requested.ephemeralStorage);
  if (req.scalar) {
    for (const k of Object.keys(req.scalar))
      check(k, req.scalar[k], n.allocatable.scalar?.[k] ?? 0, n.requested.scalar?.[k] ?? 0);
  }
  return out;
}

/** LeastAllocated for one resource: the share left free after placing the pod, 0..100 */
export function leastAllocated(requested: number, allocatable: number): number {
  if (allocatable <= 0 || requested > allocatable) return 0;
  return Math.trunc(((allocatable - requested) * MAX_NODE_SCORE) / allocatable);
}

export const nodeResourcesFit = {
  name: NAME,
  filter(_state: CycleState, pod: Pod, n: NodeInfo): Status {
    let reasons: string[] | undefined;
    let unresolvable = false;
    if (n.pods.size + 1 > n.allowedPods) reasons = ['Too many pods'];
    const req = podRequests(pod);
    if (req.cpu || req.memory || req.ephemeralStorage || req.scalar) {
      for (const s of shortfalls(req, n)) {
        (reasons ??= []).push(`Insufficient ${s.resource}`);
        if (s.unresolvable) unresolvable = true;
      }
    }
    if (!reasons) return SUCCESS;
    return { code: unresolvable ? 'UnschedulableAndUnresolvable' : 'Unschedulable', reasons };
  },
  score(_state: CycleState, pod: Pod, n: NodeInfo): number {
    const req = podNonZeroRequests(pod);
    const cpu = leastAllocated(n.nonZeroRequested.cpu + req.cpu, n.allocatable.cpu);
    const mem = leastAllocated(n.nonZeroRequested.memory + req.memory, n.allocatable.memory);
    return Math.trunc((cpu + mem) / 2);
  },
  hint(pod: Pod, n: NodeInfo, snapshot: Snapshot): string | undefined {
    const req = podRequests(pod);
    const parts: string[] = [];
    if (n.pods.size + 1 > n.allowedPods)
      parts.push(`the node already runs ${n.pods.size} of its ${n.allowedPods} pods`);
    for (const s of shortfalls(req, n)) {
      let best: NodeInfo | undefined;
      let bestFree = -1;
      for (const o of snapshot.nodes()) {
        const free = freeOf(s.resource, o);
        if (free > bestFree) {
          bestFree = free;
          best = o;
        }
      }
      parts.push(
        `needs ${formatAmount(s.resource, s.need)} ${s.resource}, ${formatAmount(s.resource, s.free)} free here` +
          (best === n
            ? '; no node has more free'
            : best
              ? `; largest free is ${formatAmount(s.resource, Math.max(0, bestFree))} on ${best.name}`
              : ''),
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
