/**
 * PodTopologySpread: spreads matching pods evenly over topology domains. DoNotSchedule constraints filter (a node
 * whose domain would exceed maxSkew over the emptiest domain is rejected); ScheduleAnyway constraints score.
 * A pod owned by a ReplicaSet, StatefulSet or ReplicationController without constraints of its own gets the default
 * spreading: by hostname (maxSkew 3) and by zone (maxSkew 5), ScheduleAnyway, counting the pods of the same owner.
 */
import { controllerOf, type KubeObject } from '../../../lib/kube/object.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import { podMatchesNodeSelectorAndAffinity, selectorOf } from '../../framework/matching.ts';
import { SKIP, SUCCESS, unresolvable, unschedulable, type ClusterView, type CycleState, type FilterPlugin, type HintPlugin, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin, type Status } from '../../framework/types.ts';

export const NAME = 'PodTopologySpread';
export const REASON = "node(s) didn't match pod topology spread constraints";
export const MISSING_LABEL_REASON = "node(s) didn't match pod topology spread constraints (missing required label)";
const HOSTNAME = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';
const SPREAD_KINDS = new Set(['ReplicaSet', 'StatefulSet', 'ReplicationController']);

interface Constraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway';
  minDomains?: number;
  /** how many pods of the group a node holds */
  countOn(n: NodeInfo): number;
  /** the incoming pod counts itself */
  selfMatch: boolean;
}

function constraintsOf(pod: KubeObject): Constraint[] {
  const explicit: any[] = pod.spec?.topologySpreadConstraints ?? [];
  if (explicit.length) {
    return explicit.map((c) => {
      const sel = selectorOf(c.labelSelector ?? null);
      const ns = pod.metadata.namespace;
      return {
        maxSkew: c.maxSkew ?? 1,
        topologyKey: c.topologyKey,
        whenUnsatisfiable: c.whenUnsatisfiable ?? 'DoNotSchedule',
        minDomains: c.minDomains,
        selfMatch: sel.matches(pod.metadata.labels),
        countOn(n: NodeInfo) {
          let k = 0;
          for (const p of n.pods.values()) if (p.metadata.namespace === ns && !p.metadata.deletionTimestamp && sel.matches(p.metadata.labels)) k++;
          return k;
        },
      };
    });
  }
  const owner = controllerOf(pod);
  if (!owner || !SPREAD_KINDS.has(owner.kind)) return [];
  const countOn = (n: NodeInfo) => n.ownerCounts.get(owner.uid) ?? 0;
  return [
    { maxSkew: 3, topologyKey: HOSTNAME, whenUnsatisfiable: 'ScheduleAnyway', countOn, selfMatch: true },
    { maxSkew: 5, topologyKey: ZONE, whenUnsatisfiable: 'ScheduleAnyway', countOn, selfMatch: true },
  ];
}

interface Domains {
  c: Constraint;
  counts: Map<string, number>;
  min: number;
}

/** per constraint: pods per domain over the nodes that count (matching the pod's node affinity, having every key) */
function countDomains(cs: Constraint[], pod: KubeObject, nodes: Iterable<NodeInfo>): Domains[] {
  const out = cs.map((c) => ({ c, counts: new Map<string, number>(), min: Infinity }));
  const keys = cs.map((c) => c.topologyKey);
  for (const n of nodes) {
    const labels = n.labels();
    if (keys.some((k) => labels[k] === undefined)) continue;
    if (!podMatchesNodeSelectorAndAffinity(pod, n.node)) continue;
    for (const d of out) {
      const v = labels[d.c.topologyKey];
      d.counts.set(v, (d.counts.get(v) ?? 0) + d.c.countOn(n));
    }
  }
  for (const d of out) {
    for (const v of d.counts.values()) if (v < d.min) d.min = v;
    if (d.c.minDomains && d.counts.size < d.c.minDomains) d.min = 0;
    if (d.min === Infinity) d.min = 0;
  }
  return out;
}

function check(domains: Domains[], n: NodeInfo): Status {
  const labels = n.labels();
  for (const d of domains) {
    const v = labels[d.c.topologyKey];
    if (v === undefined) return unresolvable(MISSING_LABEL_REASON);
    const skew = (d.counts.get(v) ?? 0) + (d.c.selfMatch ? 1 : 0) - d.min;
    if (skew > d.c.maxSkew) return unschedulable(REASON);
  }
  return SUCCESS;
}

export const podTopologySpread = {
  name: NAME,
  preFilter(state: CycleState, pod: KubeObject, cluster: ClusterView): Status {
    const hard = constraintsOf(pod).filter((c) => c.whenUnsatisfiable === 'DoNotSchedule');
    if (!hard.length) return SKIP;
    state.write(NAME, countDomains(hard, pod, cluster.nodes()));
    return SUCCESS;
  },
  filter(state: CycleState, _pod: KubeObject, n: NodeInfo): Status {
    const d = state.read<Domains[]>(NAME);
    return d ? check(d, n) : SUCCESS;
  },
  preScore(state: CycleState, pod: KubeObject, nodes: readonly NodeInfo[]): Status {
    const soft = constraintsOf(pod).filter((c) => c.whenUnsatisfiable === 'ScheduleAnyway');
    if (!soft.length) return SKIP;
    // hostname domains are the nodes themselves: counted on the spot; other keys over the feasible nodes
    const wide = soft.filter((c) => c.topologyKey !== HOSTNAME);
    const domains = wide.length ? countDomains(wide, pod, nodes) : [];
    state.write(`${NAME}/score`, { soft, domains });
    return SUCCESS;
  },
  score(state: CycleState, _pod: KubeObject, n: NodeInfo): number {
    const s = state.read<{ soft: Constraint[]; domains: Domains[] }>(`${NAME}/score`);
    if (!s) return 0;
    const labels = n.labels();
    let sum = 0;
    for (const c of s.soft) {
      if (c.topologyKey === HOSTNAME) {
        sum += c.countOn(n) * Math.log(3);
        continue;
      }
      const d = s.domains.find((x) => x.c === c)!;
      const v = labels[c.topologyKey];
      if (v === undefined) continue;
      sum += (d.counts.get(v) ?? 0) * Math.log(d.counts.size + 2);
    }
    return sum;
  },
  normalizeScores(_state: CycleState, _pod: KubeObject, scores: number[]) {
    let min = Infinity;
    let max = -Infinity;
    for (const s of scores) {
      if (s < min) min = s;
      if (s > max) max = s;
    }
    for (let i = 0; i < scores.length; i++) scores[i] = max === min ? 100 : Math.floor((100 * (max - scores[i])) / (max - min));
  },
  hint(pod: KubeObject, n: NodeInfo, cluster: ClusterView) {
    const hard = constraintsOf(pod).filter((c) => c.whenUnsatisfiable === 'DoNotSchedule');
    if (!hard.length) return undefined;
    const st = check(countDomains(hard, pod, cluster.nodes()), n);
    if (st.code === 'Success') return undefined;
    if (st.reasons[0] === MISSING_LABEL_REASON) return `the node lacks a topology label the pod spreads over (${hard.map((c) => c.topologyKey).join(', ')})`;
    return "placing the pod here would exceed the constraint's maxSkew; more room in the emptier domains would help";
  },
} satisfies PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin & HintPlugin;
