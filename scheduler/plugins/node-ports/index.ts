/** NodePorts: the host ports the pod asks for are free on the node (the same port on 0.0.0.0 conflicts with any address). */
import type { Pod } from '../../../lib/kube/types/core-v1.ts';
import { hostPorts, type NodeInfo } from '../../framework/node-info.ts';
import {
  SKIP,
  SUCCESS,
  unschedulable,
  type CycleState,
  type FilterPlugin,
  type HintPlugin,
  type PreFilterPlugin,
  type Status,
} from '../../framework/types.ts';

export const NAME = 'NodePorts';
export const REASON = "node(s) didn't have free ports for the requested pod ports";

function conflicts(wanted: readonly string[], n: NodeInfo): string[] {
  const out: string[] = [];
  if (n.usedPorts.size === 0) return out;
  for (const want of wanted) {
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
  name: NAME,
  /** the pod's host ports, once per cycle; nothing to check without any */
  preFilter(state: CycleState, pod: Pod): Status {
    const ports = hostPorts(pod);
    if (!ports.length) return SKIP;
    state.write(NAME, ports);
    return SUCCESS;
  },
  filter(state: CycleState, pod: Pod, n: NodeInfo): Status {
    return conflicts(state.read<string[]>(NAME) ?? hostPorts(pod), n).length ? unschedulable(REASON) : SUCCESS;
  },
  hint(pod: Pod, n: NodeInfo) {
    const c = conflicts(hostPorts(pod), n);
    return c.length ? `host port(s) ${c.join(', ')} already in use on the node` : undefined;
  },
} satisfies PreFilterPlugin & FilterPlugin & HintPlugin;
