/** NodeUnschedulable: a cordoned node (spec.unschedulable) takes only pods that tolerate node.kubernetes.io/unschedulable. */
import type { KubeObject } from '../../../lib/kube/object.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import { tolerationsTolerateTaint, type Taint } from '../../../lib/kube/taints.ts';
import { SUCCESS, unresolvable, type FilterPlugin, type HintPlugin } from '../../framework/types.ts';

const TAINT: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

function blocked(pod: KubeObject, n: NodeInfo): boolean {
  return n.node.spec?.unschedulable === true && !tolerationsTolerateTaint(pod.spec?.tolerations, TAINT);
}

export const nodeUnschedulable = {
  name: 'NodeUnschedulable',
  filter(_state, pod: KubeObject, n: NodeInfo) {
    return blocked(pod, n) ? unresolvable('node(s) were unschedulable') : SUCCESS;
  },
  hint(pod: KubeObject, n: NodeInfo) {
    return blocked(pod, n) ? `the node is cordoned (kubectl uncordon ${n.name})` : undefined;
  },
} satisfies FilterPlugin & HintPlugin;
