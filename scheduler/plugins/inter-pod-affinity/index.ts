/**
 * InterPodAffinity: required pod affinity and anti-affinity of the incoming pod, and the required anti-affinity of
 * pods already placed, by topology domain (the value of the term's topologyKey label). Scoring adds, per domain, the
 * weights of the incoming pod's preferred terms and of the placed pods' terms towards it. The cost is paid only by pods
 * with affinity terms and by clusters holding pods with affinity. A term's namespaceSelector is honoured only when
 * empty (every namespace); otherwise its namespaces list, or the pod's own namespace, applies.
 */
import type { Pod, PodAffinityTerm, WeightedPodAffinityTerm } from '../../../lib/kube/types/core-v1.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
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

export const NAME = 'InterPodAffinity';
export const AFFINITY_REASON = "node(s) didn't match pod affinity rules";
export const ANTI_AFFINITY_REASON = "node(s) didn't match pod anti-affinity rules";
export const EXISTING_ANTI_AFFINITY_REASON = "node(s) didn't satisfy existing pods anti-affinity rules";

type Term = PodAffinityTerm;

/** the term selects the pod (namespace and labels); `owner` is the pod that carries the term */
function termMatches(term: Term, owner: Pod, pod: Pod): boolean {
  const ns = pod.metadata.namespace;
  const allNamespaces = term.namespaceSelector && Object.keys(term.namespaceSelector).length === 0;
  if (!allNamespaces) {
    const namespaces = term.namespaces?.length ? term.namespaces : [owner.metadata.namespace];
    if (!namespaces.includes(ns)) return false;
  }
  return selectorOf(term.labelSelector ?? null).matches(pod.metadata.labels);
}

/** topology value -> pods matching the term there */
function countByDomain(term: Term, owner: Pod, snapshot: Snapshot): Map<string, number> {
  const counts = new Map<string, number>();
  for (const n of snapshot.nodes()) {
    const v = n.labels()[term.topologyKey];
    if (v === undefined) continue;
    for (const p of n.pods.values()) if (termMatches(term, owner, p)) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return counts;
}

interface PreState {
  affinity: { term: Term; counts: Map<string, number> }[];
  /** no pod anywhere matches the affinity terms, but the pod matches them itself: the first of a group */
  firstOfGroup: boolean;
  anti: { term: Term; counts: Map<string, number> }[];
  /** "key=value" domains where a placed pod's anti-affinity forbids this pod */
  forbidden: Set<string>;
  forbiddenKeys: Set<string>;
}

function requiredTerms(pod: Pod, kind: 'podAffinity' | 'podAntiAffinity'): Term[] {
  return pod.spec?.affinity?.[kind]?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
}

function check(state: PreState, n: NodeInfo): Status {
  const labels = n.labels();
  for (const key of state.forbiddenKeys) {
    const v = labels[key];
    if (v !== undefined && state.forbidden.has(`${key}=${v}`)) return unschedulable(EXISTING_ANTI_AFFINITY_REASON);
  }
  for (const { term, counts } of state.affinity) {
    const v = labels[term.topologyKey];
    if (v === undefined) return unresolvable(AFFINITY_REASON);
    if (!state.firstOfGroup && !(counts.get(v) ?? 0)) return unresolvable(AFFINITY_REASON);
  }
  for (const { term, counts } of state.anti) {
    const v = labels[term.topologyKey];
    if (v !== undefined && (counts.get(v) ?? 0) > 0) return unschedulable(ANTI_AFFINITY_REASON);
  }
  return SUCCESS;
}

function prepare(pod: Pod, snapshot: Snapshot): PreState | undefined {
  const aff = requiredTerms(pod, 'podAffinity');
  const anti = requiredTerms(pod, 'podAntiAffinity');
  const forbidden = new Set<string>();
  const forbiddenKeys = new Set<string>();
  for (const n of snapshot.nodesWithRequiredAntiAffinity()) {
    for (const p of n.pods.values()) {
      for (const t of requiredTerms(p, 'podAntiAffinity')) {
        if (!termMatches(t, p, pod)) continue;
        const v = n.labels()[t.topologyKey];
        if (v === undefined) continue;
        forbidden.add(`${t.topologyKey}=${v}`);
        forbiddenKeys.add(t.topologyKey);
      }
    }
  }
  if (!aff.length && !anti.length && !forbidden.size) return undefined;
  const affinity = aff.map((term) => ({ term, counts: countByDomain(term, pod, snapshot) }));
  const firstOfGroup =
    affinity.length > 0 && affinity.every((a) => a.counts.size === 0) && aff.every((t) => termMatches(t, pod, pod));
  return {
    affinity,
    firstOfGroup,
    anti: anti.map((term) => ({ term, counts: countByDomain(term, pod, snapshot) })),
    forbidden,
    forbiddenKeys,
  };
}

/** topologyKey -> topology value -> score */
type TopologyScores = Map<string, Map<string, number>>;

function addScore(scores: TopologyScores, n: NodeInfo, key: string, weight: number): void {
  const v = n.labels()[key];
  if (v === undefined || weight === 0) return;
  let m = scores.get(key);
  if (!m) scores.set(key, (m = new Map()));
  m.set(v, (m.get(v) ?? 0) + weight);
}

/** existing pods' required pod affinity towards the incoming pod counts this much (kube-scheduler's hardPodAffinityWeight) */
export const HARD_POD_AFFINITY_WEIGHT = 1;

type WeightedTerm = WeightedPodAffinityTerm;

const preferred = (p: Pod, kind: 'podAffinity' | 'podAntiAffinity'): WeightedTerm[] =>
  p.spec?.affinity?.[kind]?.preferredDuringSchedulingIgnoredDuringExecution ?? [];

export const interPodAffinity = {
  name: NAME,
  preFilter(state: CycleState, pod: Pod, snapshot: Snapshot): Status {
    const s = prepare(pod, snapshot);
    if (!s) return SKIP;
    state.write(NAME, s);
    return SUCCESS;
  },
  filter(state: CycleState, _pod: Pod, n: NodeInfo): Status {
    const s = state.read<PreState>(NAME);
    return s ? check(s, n) : SUCCESS;
  },
  /**
   * sums per topology domain: the incoming pod's preferred (anti-)affinity to the pods there, and the pods' own
   * required affinity and preferred (anti-)affinity to the incoming pod
   */
  preScore(state: CycleState, pod: Pod, _nodes: readonly NodeInfo[], snapshot: Snapshot): Status {
    const pa = preferred(pod, 'podAffinity');
    const pn = preferred(pod, 'podAntiAffinity');
    const own = pa.length > 0 || pn.length > 0;
    const scan: Iterable<NodeInfo> = own ? snapshot.nodes() : snapshot.nodesWithAffinity();
    const scores: TopologyScores = new Map();
    for (const n of scan) {
      for (const p of n.pods.values()) {
        for (const t of pa)
          if (termMatches(t.podAffinityTerm, pod, p)) addScore(scores, n, t.podAffinityTerm.topologyKey, t.weight);
        for (const t of pn)
          if (termMatches(t.podAffinityTerm, pod, p)) addScore(scores, n, t.podAffinityTerm.topologyKey, -t.weight);
        if (!p.spec?.affinity) continue;
        for (const t of requiredTerms(p, 'podAffinity'))
          if (termMatches(t, p, pod)) addScore(scores, n, t.topologyKey, HARD_POD_AFFINITY_WEIGHT);
        for (const t of preferred(p, 'podAffinity'))
          if (termMatches(t.podAffinityTerm, p, pod)) addScore(scores, n, t.podAffinityTerm.topologyKey, t.weight);
        for (const t of preferred(p, 'podAntiAffinity'))
          if (termMatches(t.podAffinityTerm, p, pod)) addScore(scores, n, t.podAffinityTerm.topologyKey, -t.weight);
      }
    }
    if (!scores.size) return SKIP;
    state.write(`${NAME}/score`, scores);
    return SUCCESS;
  },
  score(state: CycleState, _pod: Pod, n: NodeInfo): number {
    const s = state.read<TopologyScores>(`${NAME}/score`);
    if (!s) return 0;
    let sum = 0;
    const labels = n.labels();
    for (const [key, values] of s) {
      const v = labels[key];
      if (v !== undefined) sum += values.get(v) ?? 0;
    }
    return sum;
  },
  normalizeScores(_state: CycleState, _pod: Pod, scores: number[]) {
    let min = Infinity;
    let max = -Infinity;
    for (const s of scores) {
      if (s < min) min = s;
      if (s > max) max = s;
    }
    const diff = max - min;
    for (let i = 0; i < scores.length; i++)
      scores[i] = diff > 0 ? Math.trunc((MAX_NODE_SCORE * (scores[i] - min)) / diff) : 0;
  },
  hint(pod: Pod, n: NodeInfo, snapshot: Snapshot) {
    const s = prepare(pod, snapshot);
    if (!s) return undefined;
    const st = check(s, n);
    if (st.code === 'Success') return undefined;
    if (st.reasons[0] === EXISTING_ANTI_AFFINITY_REASON)
      return 'a pod already on this node (or its topology domain) has anti-affinity against this pod';
    if (st.reasons[0] === ANTI_AFFINITY_REASON)
      return "a pod this pod's anti-affinity excludes is already in the node's topology domain";
    return "no pod the pod's affinity asks for is in the node's topology domain (or the node lacks the topology label)";
  },
} satisfies PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin & HintPlugin;
