/**
 * NodeAffinity: the pod's nodeSelector and required node affinity filter; preferred node affinity scores by the sum
 * of the weights of the terms a node matches. A required term naming nodes (matchFields metadata.name In, as
 * DaemonSet pods carry) narrows the nodes worth filtering at PreFilter, so such pods cost O(1) nodes.
 */
import type { KubeObject } from '../../../lib/kube/object.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import {
  matchExpressionMatches,
  matchFieldMatches,
  NODE_NAME_FIELD,
  preferredSchedulingScore,
  requiredNodeAffinityMatches,
  type NodeSelectorRequirement,
  type NodeSelectorTerm,
  type PreferredSchedulingTerm,
} from '../../../lib/kube/node-affinity.ts';
import {
  normalize,
  onlyNodes,
  SKIP,
  SUCCESS,
  unresolvable,
  type CycleState,
  type FilterPlugin,
  type HintPlugin,
  type PreFilterPlugin,
  type PreScorePlugin,
  type ScorePlugin,
  type Status,
} from '../../framework/types.ts';

export const NAME = 'NodeAffinity';
export const REASON = "node(s) didn't match Pod's node affinity/selector";
export const CONFLICT_REASON = 'pod affinity terms conflict';

function requiredTerms(pod: KubeObject): NodeSelectorTerm[] | undefined {
  return pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
}

function preferredTerms(pod: KubeObject): PreferredSchedulingTerm[] {
  return pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
}

/** the nodes named by every term (metadata.name In ...), or undefined when some term may match any node */
function namedNodes(terms: NodeSelectorTerm[]): Set<string> | undefined {
  const out = new Set<string>();
  for (const t of terms) {
    let names: Set<string> | undefined;
    for (const r of (t?.matchFields ?? []) as NodeSelectorRequirement[]) {
      if (r.key !== NODE_NAME_FIELD || r.operator !== 'In') continue;
      const vs = new Set(r.values ?? []);
      names = names ? new Set([...names].filter((n) => vs.has(n))) : vs;
    }
    if (!names) return undefined;
    for (const n of names) out.add(n);
  }
  return out;
}

/** what a node lacks to match a term, in words */
function termMisses(term: NodeSelectorTerm | undefined, n: NodeInfo): string[] {
  const labels = n.labels();
  const out: string[] = [];
  for (const r of (term?.matchExpressions ?? []) as NodeSelectorRequirement[]) {
    if (matchExpressionMatches(r, labels)) continue;
    const have = labels[r.key] === undefined ? 'no such label' : `has ${r.key}=${labels[r.key]}`;
    out.push(`${r.key} ${r.operator}${r.values?.length ? ` [${r.values.join(', ')}]` : ''} (${have})`);
  }
  for (const r of (term?.matchFields ?? []) as NodeSelectorRequirement[]) {
    if (!matchFieldMatches(r, n.node))
      out.push(`${r.key} ${r.operator}${r.values?.length ? ` [${r.values.join(', ')}]` : ''}`);
  }
  return out;
}

export const nodeAffinity = {
  name: NAME,
  preFilter(_state: CycleState, pod: KubeObject): Status {
    const terms = requiredTerms(pod);
    if (!terms && !pod.spec?.nodeSelector) return SKIP;
    if (!terms?.length) return SUCCESS;
    const names = namedNodes(terms);
    if (!names) return SUCCESS;
    if (!names.size) return unresolvable(CONFLICT_REASON);
    return onlyNodes(names);
  },
  filter(_state: CycleState, pod: KubeObject, n: NodeInfo): Status {
    return requiredNodeAffinityMatches(pod.spec, n.node) ? SUCCESS : unresolvable(REASON);
  },
  preScore(_state: CycleState, pod: KubeObject): Status {
    return preferredTerms(pod).length ? SUCCESS : SKIP;
  },
  score(_state: CycleState, pod: KubeObject, n: NodeInfo): number {
    return preferredSchedulingScore(preferredTerms(pod), n.node);
  },
  normalizeScores(_state: CycleState, _pod: KubeObject, scores: number[]) {
    normalize(scores, false);
  },
  hint(pod: KubeObject, n: NodeInfo) {
    if (requiredNodeAffinityMatches(pod.spec, n.node)) return undefined;
    const labels = n.labels();
    const missing = Object.entries((pod.spec?.nodeSelector ?? {}) as Record<string, string>).filter(
      ([k, v]) => labels[k] !== v,
    );
    if (missing.length) {
      const want = missing.map(([k, v]) => `${k}=${v}`);
      const have = missing.filter(([k]) => labels[k] !== undefined).map(([k]) => `${k}=${labels[k]}`);
      return (
        `the node lacks the label(s) ${want.join(', ')} of the pod's nodeSelector` +
        (have.length ? ` (it has ${have.join(', ')})` : '') +
        `: kubectl label node ${n.name} ${want.join(' ')}`
      );
    }
    const terms = requiredTerms(pod) ?? [];
    const per = terms.map((t, i) => `term ${i + 1}: ${termMisses(t, n).join(', ') || 'empty term'}`);
    return `the node matches none of the pod's required node affinity terms (${per.join('; ')})`;
  },
} satisfies PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin & HintPlugin;
