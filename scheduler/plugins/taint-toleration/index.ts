/** TaintToleration: NoSchedule and NoExecute taints must be tolerated; fewer untolerated PreferNoSchedule taints score higher. */
import type { KubeObject } from '../../../lib/kube/object.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import { formatTaint, tolerated, type Taint, type Toleration } from '../../framework/matching.ts';
import {
  normalize,
  SUCCESS,
  unresolvable,
  type CycleState,
  type FilterPlugin,
  type HintPlugin,
  type PreScorePlugin,
  type ScorePlugin,
  type Status,
} from '../../framework/types.ts';

export const NAME = 'TaintToleration';

function untolerated(pod: KubeObject, n: NodeInfo): Taint | undefined {
  for (const t of (n.node.spec?.taints ?? []) as Taint[]) {
    if (t.effect !== 'NoSchedule' && t.effect !== 'NoExecute') continue;
    if (!tolerated(pod.spec?.tolerations, t)) return t;
  }
  return undefined;
}

export const taintToleration = {
  name: NAME,
  filter(_state, pod: KubeObject, n: NodeInfo) {
    const t = untolerated(pod, n);
    return t ? unresolvable(`node(s) had untolerated taint ${formatTaint(t)}`) : SUCCESS;
  },
  /** the tolerations that count against PreferNoSchedule taints, once per cycle */
  preScore(state: CycleState, pod: KubeObject): Status {
    state.write(
      NAME,
      (pod.spec?.tolerations ?? []).filter((t: any) => !t.effect || t.effect === 'PreferNoSchedule'),
    );
    return SUCCESS;
  },
  score(state: CycleState, pod: KubeObject, n: NodeInfo) {
    const taints = (n.node.spec?.taints ?? []) as Taint[];
    if (!taints.length) return 0;
    const prefer =
      state.read<Toleration[]>(NAME) ??
      (pod.spec?.tolerations ?? []).filter((t: any) => !t.effect || t.effect === 'PreferNoSchedule');
    let count = 0;
    for (const t of taints) if (t.effect === 'PreferNoSchedule' && !tolerated(prefer, t)) count++;
    return count;
  },
  normalizeScores(_state, _pod, scores: number[]) {
    normalize(scores, true);
  },
  hint(pod: KubeObject, n: NodeInfo) {
    const t = untolerated(pod, n);
    if (!t) return undefined;
    const tol = t.value
      ? `{key: ${t.key}, operator: Equal, value: ${t.value}, effect: ${t.effect}}`
      : `{key: ${t.key}, operator: Exists, effect: ${t.effect}}`;
    return `the pod needs a toleration ${tol} (or remove the taint: kubectl taint node ${n.name} ${t.key}:${t.effect}-)`;
  },
} satisfies FilterPlugin & PreScorePlugin & ScorePlugin & HintPlugin;
