/** TaintToleration: NoSchedule and NoExecute taints must be tolerated; fewer untolerated PreferNoSchedule taints score higher. */
import type { KubeObject } from '../../../lib/kube/object.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import {
  countIntolerableTaintsPreferNoSchedule,
  doNotScheduleTaint,
  findMatchingUntoleratedTaint,
  preferNoScheduleTolerations,
  type Taint,
  type Toleration,
} from '../../../lib/kube/taints.ts';
import { formatTaint } from '../../framework/matching.ts';
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
  return findMatchingUntoleratedTaint(n.node.spec?.taints, pod.spec?.tolerations, doNotScheduleTaint);
}

export const taintToleration = {
  name: NAME,
  filter(_state, pod: KubeObject, n: NodeInfo) {
    const t = untolerated(pod, n);
    return t ? unresolvable(`node(s) had untolerated taint ${formatTaint(t)}`) : SUCCESS;
  },
  /** the tolerations that count against PreferNoSchedule taints, once per cycle */
  preScore(state: CycleState, pod: KubeObject): Status {
    state.write(NAME, preferNoScheduleTolerations(pod.spec?.tolerations));
    return SUCCESS;
  },
  score(state: CycleState, pod: KubeObject, n: NodeInfo) {
    const taints: Taint[] | undefined = n.node.spec?.taints;
    if (!taints?.length) return 0;
    const prefer = state.read<Toleration[]>(NAME) ?? preferNoScheduleTolerations(pod.spec?.tolerations);
    return countIntolerableTaintsPreferNoSchedule(taints, prefer);
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
