/** NodeAffinity: nodeSelector and required node affinity filter; preferred node affinity scores by its weights. */
import type { KubeObject } from '../../../lib/kube/object.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import { nodeSelectorTermMatches, podMatchesNodeSelectorAndAffinity } from '../../framework/matching.ts';
import { normalize, SUCCESS, unresolvable, type FilterPlugin, type HintPlugin, type ScorePlugin } from '../../framework/types.ts';

export const REASON = "node(s) didn't match Pod's node affinity/selector";

export const nodeAffinity = {
  name: 'NodeAffinity',
  filter(_state, pod: KubeObject, n: NodeInfo) {
    return podMatchesNodeSelectorAndAffinity(pod, n.node) ? SUCCESS : unresolvable(REASON);
  },
  score(_state, pod: KubeObject, n: NodeInfo) {
    const prefs: any[] = pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    let sum = 0;
    for (const p of prefs) if (p?.weight && nodeSelectorTermMatches(p.preference, n.node)) sum += p.weight;
    return sum;
  },
  normalizeScores(_state, _pod, scores: number[]) {
    normalize(scores, false);
  },
  hint(pod: KubeObject, n: NodeInfo) {
    if (podMatchesNodeSelectorAndAffinity(pod, n.node)) return undefined;
    const labels = n.labels();
    const missing = Object.entries(pod.spec?.nodeSelector ?? {})
      .filter(([k, v]) => labels[k] !== v)
      .map(([k, v]) => `${k}=${v}`);
    if (missing.length) return `the node lacks the label(s) ${missing.join(', ')} of the pod's nodeSelector (kubectl label node ${n.name} ${missing.join(' ')})`;
    return "the node matches none of the pod's required node affinity terms";
  },
} satisfies FilterPlugin & ScorePlugin & HintPlugin;
