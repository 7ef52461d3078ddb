/** NodePorts: the host ports the pod asks for are free on the node (the same port on 0.0.0.0 conflicts with any address). */
import type { KubeObject } from '../../../lib/kube/object.ts';
import { hostPorts, type NodeInfo } from '../../framework/node-info.ts';
import { SUCCESS, unschedulable, type FilterPlugin, type HintPlugin } from '../../framework/types.ts';

function conflicts(pod: KubeObject, n: NodeInfo): string[] {
  const out: string[] = [];
  if (n.usedPorts.size === 0) return out;
  for (const want of hostPorts(pod)) {
    const [proto, ip, port] = want.split('/');
    const clash =
      n.usedPorts.has(want) ||
      (ip === '0.0.0.0'
        ? [...n.usedPorts.keys()].some((u) => u.startsWith(`${proto}/`) && u.endsWith(`/${port}`))
        : n.usedPorts.has(`${proto}/0.0.0.0/${port}`));
    if (clash) out.push(`${port}/${proto}`);
  }
  return out;
}

export const nodePorts = {
  name: 'NodePorts',
  filter(_state, pod: KubeObject, n: NodeInfo) {
    return conflicts(pod, n).length ? unschedulable("node(s) didn't have free ports for the requested pod ports") : SUCCESS;
  },
  hint(pod: KubeObject, n: NodeInfo) {
    const c = conflicts(pod, n);
    return c.length ? `host port(s) ${c.join(', ')} already in use on the node` : undefined;
  },
} satisfies FilterPlugin & HintPlugin;
