/**
 * PodTopologySpread: spreads matching pods evenly over topology domains. DoNotSchedule constraints filter (a node
 * whose domain would exceed maxSkew over the emptiest domain is rejected); ScheduleAnyway constraints score.
 * A pod owned by a ReplicaSet, StatefulSet or ReplicationController without constraints of its own gets the default
 * spreading: by hostname (maxSkew 3) and by zone (maxSkew 5), ScheduleAnyway, counting the pods of the same owner.
 */
import { controllerOf } from '../../../lib/kube/object.ts';
import type { Pod } from '../../../lib/kube/types/core-v1.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import { requiredNodeAffinityMatches } from '../../../lib/kube/node-affinity.ts';
import { selectorOf } from '../../framework/matching.ts';
import {
  MAX_NODE_SCORE,
  SKIP,
  SUCCESS,
  unresolvable,
  unschedulable,
  type CycleState,
  type FilterPlugin,
  type HintPlugin,
  type PreFilterPlugin,
  type PreScorePlugin,
  type ScorePlugin,
  type Snapshot,
  type Status,
} from '../../framework/types.ts';

export const NAME = 'PodTopologySpread';
export const REASON = "node(s) didn't match pod topology spread constraints";
export const MISSING_LABEL_REASON = "node(s) didn't match pod topology spread constraints (missing required label)";
const HOSTNAME = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';
const SPREAD_KINDS = new Set(['ReplicaSet', 'StatefulSet', 'ReplicationController']);

interface Constraint {
  maxSkew: number;
  topologyKey: string;
  /** DoNotSchedule or ScheduleAnyway */
  whenUnsatisfiable: string;
  minDomains?: number;
  /** how many pods of the group a node holds */
  countOn(n: NodeInfo): number;
  /** the incoming pod counts itself */
  selfMatch: boolean;
  /** one of the cluster's default constraints (the pod has none of its own) */
  systemDefault?: boolean;
}

function constraintsOf(pod: Pod): Constraint[] {
  const explicit = pod.spec?.topologySpreadConstraints ?? [];
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
          for (const p of n.pods.values())
            if (p.metadata.namespace === ns && !p.metadata.deletionTimestamp && sel.matches(p.metadata.labels)) k++;
          return k;
        },
      };
    });
  }
  const owner = controllerOf(pod);
  if (!owner || !SPREAD_KINDS.has(owner.kind)) return [];
  const countOn = (n: NodeInfo) => n.ownerCounts.get(owner.uid) ?? 0;
  return [
    {
      maxSkew: 3,
      topologyKey: HOSTNAME,
      whenUnsatisfiable: 'ScheduleAnyway',
      countOn,
      selfMatch: true,
      systemDefault: true,
    },
    {
      maxSkew: 5,
      topologyKey: ZONE,
      whenUnsatisfiable: 'ScheduleAnyway',
      countOn,
      selfMatch: true,
      systemDefault: true,
    },
  ];
}

interface Domains {
  c: Constraint;
  counts: Map<string, number>;
  min: number;
}

/** per constraint: pods per domain over the nodes that count (matching the pod's node affinity, having every key) */
function countDomains(cs: Constraint[], pod: Pod, nodes: Iterable<NodeInfo>): Domains[] {
  const out = cs.map((c) => ({ c, counts: new Map<string, number>(), min: Infinity }));
  const keys = cs.map((c) => c.topologyKey);
  for (const n of nodes) {
    const labels = n.labels();
    if (keys.some((k) => labels[k] === undefined)) continue;
    if (!requiredNodeAffinityMatches(pod.spec, n.node)) continue;
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

interface ScoreState {
  soft: Constraint[];
  /** per constraint: pods per topology value (hostname constraints count on the node itself) */
  counts: (Map<string, number> | undefined)[];
  /** per constraint: log(number of domains + 2) */
  weights: number[];
  /** feasible nodes lacking a topology key: scored 0 */
  ignored: Set<string>;
}

const hasAllKeys = (labels: Record<string, string>, cs: Constraint[]) =>
  cs.every((c) => labels[c.topologyKey] !== undefined);

export const podTopologySpread = {
  name: NAME,
  preFilter(state: CycleState, pod: Pod, snapshot: Snapshot): Status {
    const hard = constraintsOf(pod).filter((c) => c.whenUnsatisfiable === 'DoNotSchedule');
    if (!hard.length) return SKIP;
    state.write(NAME, countDomains(hard, pod, snapshot.nodes()));
    return SUCCESS;
  },
  filter(state: CycleState, _pod: Pod, n: NodeInfo): Status {
    const d = state.read<Domains[]>(NAME);
    return d ? check(d, n) : SUCCESS;
  },
  /**
   * the spreading score, as kube-scheduler's: per constraint, the pods matching in the node's domain, weighted by
   * log(domains + 2), plus maxSkew - 1; fewer is better (normalizeScores reverses)
   */
  preScore(state: CycleState, pod: Pod, nodes: readonly NodeInfo[], snapshot: Snapshot): Status {
    const soft = constraintsOf(pod).filter((c) => c.whenUnsatisfiable === 'ScheduleAnyway');
    if (!soft.length || !nodes.length) return SKIP;
    // explicit constraints need every key on a node; the system default ones take the keys a node has
    const requireAll = !soft[0].systemDefault;
    const ignored = new Set<string>();
    const counts: (Map<string, number> | undefined)[] = soft.map((c) =>
      c.topologyKey === HOSTNAME ? undefined : new Map<string, number>(),
    );
    const sizes = soft.map(() => 0);
    for (const n of nodes) {
      const labels = n.labels();
      if (requireAll && !hasAllKeys(labels, soft)) {
        ignored.add(n.name);
        continue;
      }
      soft.forEach((c, i) => {
        const v = labels[c.topologyKey];
        const m = counts[i];
        if (!m) sizes[i]++;
        else if (v !== undefined && !m.has(v)) m.set(v, 0);
      });
    }
    counts.forEach((m, i) => {
      if (m) sizes[i] = m.size;
    });
    if (counts.some((m) => m && m.size)) {
      // domains seen among the feasible nodes, counted over every node the pod's node affinity allows
      for (const n of snapshot.nodes()) {
        const labels = n.labels();
        if ((requireAll && !hasAllKeys(labels, soft)) || !requiredNodeAffinityMatches(pod.spec, n.node)) continue;
        soft.forEach((c, i) => {
          const m = counts[i];
          const v = labels[c.topologyKey];
          if (m && v !== undefined && m.has(v)) m.set(v, m.get(v)! + c.countOn(n));
        });
      }
    }
    state.write(`${NAME}/score`, {
      soft,
      counts,
      weights: sizes.map((k) => Math.log(k + 2)),
      ignored,
    } satisfies ScoreState);
    return SUCCESS;
  },
  score(state: CycleState, _pod: Pod, n: NodeInfo): number {
    const s = state.read<ScoreState>(`${NAME}/score`);
    if (!s || s.ignored.has(n.name)) return 0;
    const labels = n.labels();
    let sum = 0;
    s.soft.forEach((c, i) => {
      const v = labels[c.topologyKey];
      if (v === undefined) return;
      const m = s.counts[i];
      const cnt = m ? (m.get(v) ?? 0) : c.countOn(n);
      sum += cnt * s.weights[i] + (c.maxSkew - 1);
    });
    return Math.round(sum);
  },
  normalizeScores(state: CycleState, _pod: Pod, scores: number[], nodes: readonly NodeInfo[]) {
    const s = state.read<ScoreState>(`${NAME}/score`);
    const ignoredAt = (i: number) => !!s?.ignored.has(nodes[i].name);
    let min = Infinity;
    let max = 0;
    for (let i = 0; i < scores.length; i++) {
      if (ignoredAt(i)) continue;
      if (scores[i] < min) min = scores[i];
      if (scores[i] > max) max = scores[i];
    }
    for (let i = 0; i < scores.length; i++) {
      if (ignoredAt(i)) scores[i] = 0;
      else if (max === 0) scores[i] = MAX_NODE_SCORE;
      else scores[i] = Math.trunc((MAX_NODE_SCORE * (max + min - scores[i])) / max);
    }
  },
  hint(pod: Pod, n: NodeInfo, snapshot: Snapshot) {
    const hard = constraintsOf(pod).filter((c) => c.whenUnsatisfiable === 'DoNotSchedule');
    if (!hard.length) return undefined;
    const domains = countDomains(hard, pod, snapshot.nodes());
    const st = check(domains, n);
    if (st.code === 'Success') return undefined;
    const labels = n.labels();
    const missing = hard.filter((c) => labels[c.topologyKey] === undefined).map((c) => c.topologyKey);
    if (missing.length) return `the node lacks the topology label(s) ${missing.join(', ')} the pod spreads over`;
    const parts: string[] = [];
    for (const d of domains) {
      const v = labels[d.c.topologyKey];
      const here = (d.counts.get(v) ?? 0) + (d.c.selfMatch ? 1 : 0);
      if (here - d.min > d.c.maxSkew)
        parts.push(
          `${d.c.topologyKey}=${v} would hold ${here} matching pods against ${d.min} in the emptiest domain (maxSkew ${d.c.maxSkew})`,
        );
    }
    return parts.join('; ') + '; room in the emptier domains would help';
  },
} satisfies PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin & HintPlugin;
