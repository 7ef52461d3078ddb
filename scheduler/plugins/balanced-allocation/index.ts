/** NodeResourcesBalancedAllocation: prefers nodes whose cpu and memory would be used in equal shares. */
import type { Pod } from '../../../lib/kube/types/core-v1.ts';
import { podRequests } from '../../framework/resources.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import type { ScorePlugin } from '../../framework/types.ts';

export const balancedAllocation = {
  name: 'NodeResourcesBalancedAllocation',
  score(_state, pod: Pod, n: NodeInfo): number {
    const req = podRequests(pod);
    const cpu = n.allocatable.cpu > 0 ? Math.min(1, (n.requested.cpu + req.cpu) / n.allocatable.cpu) : 1;
    const mem = n.allocatable.memory > 0 ? Math.min(1, (n.requested.memory + req.memory) / n.allocatable.memory) : 1;
    // the standard deviation of two fractions is half their distance
    const std = Math.abs(cpu - mem) / 2;
    return Math.floor((1 - std) * 100);
  },
} satisfies ScorePlugin;
