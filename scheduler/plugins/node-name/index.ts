/** NodeName: a pod that names its node fits only there. */
import type { Pod } from '../../../lib/kube/types/core-v1.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import { SUCCESS, unresolvable, type FilterPlugin, type HintPlugin } from '../../framework/types.ts';

export const REASON = "node(s) didn't match the requested node name";

export const nodeName = {
  name: 'NodeName',
  filter(_state, pod: Pod, n: NodeInfo) {
    const want = pod.spec?.nodeName;
    return !want || want === n.name ? SUCCESS : unresolvable(REASON);
  },
  hint(pod: Pod, n: NodeInfo) {
    const want = pod.spec?.nodeName;
    return want && want !== n.name ? `the pod asks for node ${want}` : undefined;
  },
} satisfies FilterPlugin & HintPlugin;
