/**
 * DefaultPreemption (PostFilter): when a pod fits nowhere, looks for a node where removing pods of lower priority
 * would make it fit. Only nodes that failed with Unschedulable are tried (UnschedulableAndUnresolvable ones: taints,
 * selectors, cordons, are "not helpful"); on each, every lower-priority pod is removed, the filters are run again,
 * then pods are given back, most important first, while the pod still fits. The node whose victims matter least is
 * chosen; the scheduler deletes the victims and nominates the node. When no node would do, the message says why per
 * node, as kube-scheduler's: "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod"
 * PodDisruptionBudgets are not consulted.
 */
import type { Pod } from '../../../lib/kube/types/core-v1.ts';
import { podPriority, type NodeInfo } from '../../framework/node-info.ts';
import {
  unresolvable,
  unschedulable,
  type CycleState,
  type NodeStatuses,
  type PostFilterPlugin,
  type PostFilterResult,
  type Snapshot,
  type Status,
} from '../../framework/types.ts';

export const NAME = 'DefaultPreemption';
export const NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const NO_VICTIMS = 'No preemption victims found for incoming pod';
export const NEVER = 'not eligible due to preemptionPolicy=Never.';
export const TERMINATING = 'not eligible due to a terminating pod on the nominated node.';

interface Candidate {
  node: string;
  victims: Pod[];
}

/** more important: higher priority, then started earlier */
function moreImportant(a: Pod, b: Pod): number {
  const d = podPriority(b) - podPriority(a);
  if (d !== 0) return d;
  const ta = Date.parse(a.status?.startTime ?? a.metadata.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.status?.startTime ?? b.metadata.creationTimestamp ?? '') || 0;
  return ta - tb;
}

/** the fewest, least important victims that make room on the node, or why there are none */
export function selectVictims(
  pod: Pod,
  node: NodeInfo,
  filter: (pod: Pod, node: NodeInfo) => Status,
): { victims?: Pod[]; status?: Status } {
  const prio = podPriority(pod);
  const potential: Pod[] = [];
  for (const p of node.pods.values()) if (podPriority(p) < prio) potential.push(p);
  if (!potential.length) return { status: unresolvable(NO_VICTIMS) };
  const trial = node.clone();
  for (const p of potential) trial.removePod(p);
  const s = filter(pod, trial);
  if (s.code !== 'Success') return { status: s };
  potential.sort(moreImportant);
  const victims: Pod[] = [];
  for (const p of potential) {
    trial.addPod(p);
    if (filter(pod, trial).code !== 'Success') {
      trial.removePod(p);
      victims.push(p);
    }
  }
  return { victims };
}

/** kube-scheduler's order: the lowest highest victim priority, then the lowest sum of priorities, then the fewest victims */
function pickCandidate(cs: Candidate[]): Candidate {
  const key = (c: Candidate) => {
    let max = -Infinity;
    let sum = 0;
    for (const v of c.victims) {
      const p = podPriority(v);
      if (p > max) max = p;
      sum += p + 2 ** 31; // as kube-scheduler: offset so that negative priorities still add up
    }
    return [max, sum, c.victims.length];
  };
  let best = cs[0];
  let bestKey = key(best);
  for (const c of cs.slice(1)) {
    const k = key(c);
    for (let i = 0; i < k.length; i++) {
      if (k[i] < bestKey[i]) {
        best = c;
        bestKey = k;
        break;
      }
      if (k[i] > bestKey[i]) break;
    }
  }
  return best;
}

function eligible(pod: Pod, snapshot: Snapshot, statuses: NodeStatuses): string | undefined {
  if (pod.spec?.preemptionPolicy === 'Never') return NEVER;
  const nominated: string | undefined = pod.status?.nominatedNodeName;
  if (nominated && statuses.byNode.get(nominated)?.code !== 'UnschedulableAndUnresolvable') {
    const n = snapshot.node(nominated);
    const prio = podPriority(pod);
    if (n)
      for (const p of n.pods.values()) if (p.metadata.deletionTimestamp && podPriority(p) < prio) return TERMINATING;
  }
  return undefined;
}

export const defaultPreemption = {
  name: NAME,
  postFilter(
    _state: CycleState,
    pod: Pod,
    snapshot: Snapshot,
    statuses: NodeStatuses,
    filter: (pod: Pod, node: NodeInfo) => Status,
  ): PostFilterResult {
    const why = eligible(pod, snapshot, statuses);
    if (why) return { status: unschedulable(`preemption: ${why}`) };
    const total = snapshot.nodes().length;
    const results = new Map<string, Status>();
    const candidates: Candidate[] = [];
    for (const [name, s] of statuses.byNode) {
      if (s.code !== 'Unschedulable') continue;
      const node = snapshot.node(name);
      if (!node) continue;
      const r = selectVictims(pod, node, filter);
      if (r.victims) candidates.push({ node: name, victims: r.victims });
      else results.set(name, r.status!);
    }
    if (!candidates.length) {
      const hist = new Map<string, number>();
      for (const s of results.values()) for (const r of s.reasons) hist.set(r, (hist.get(r) ?? 0) + 1);
      const rest = total - results.size;
      if (rest > 0) hist.set(NOT_HELPFUL, (hist.get(NOT_HELPFUL) ?? 0) + rest);
      const parts = [...hist].map(([r, n]) => `${n} ${r}`).sort();
      return { status: unschedulable(`preemption: 0/${total} nodes are available: ${parts.join(', ')}`) };
    }
    const best = pickCandidate(candidates);
    return { status: { code: 'Success', reasons: [] }, nominatedNodeName: best.node, victims: best.victims };
  },
} satisfies PostFilterPlugin;
