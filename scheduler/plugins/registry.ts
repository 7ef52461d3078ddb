/**
 * Every scheduler plugin by name, and the default profile: which plugins run at which extension point, and the
 * weights of the scores (as kube-scheduler's default profile).
 */
import type { AnyPlugin } from '../framework/types.ts';
import { balancedAllocation } from './balanced-allocation/index.ts';
import { interPodAffinity } from './inter-pod-affinity/index.ts';
import { nodeAffinity } from './node-affinity/index.ts';
import { nodeName } from './node-name/index.ts';
import { nodePorts } from './node-ports/index.ts';
import { nodeResourcesFit } from './node-resources-fit/index.ts';
import { nodeUnschedulable } from './node-unschedulable/index.ts';
import { podTopologySpread } from './pod-topology-spread/index.ts';
import { taintToleration } from './taint-toleration/index.ts';

export const PLUGINS: ReadonlyMap<string, AnyPlugin> = new Map<string, AnyPlugin>(
  [nodeUnschedulable, nodeName, taintToleration, nodeAffinity, nodePorts, nodeResourcesFit, podTopologySpread, interPodAffinity, balancedAllocation].map((p) => [p.name, p as AnyPlugin]),
);

export interface Profile {
  /** filters in order; the cheap and most selective first */
  filters: string[];
  scores: { name: string; weight: number }[];
}

export const DEFAULT_PROFILE: Profile = {
  filters: ['NodeUnschedulable', 'NodeName', 'TaintToleration', 'NodeAffinity', 'NodePorts', 'NodeResourcesFit', 'PodTopologySpread', 'InterPodAffinity'],
  scores: [
    { name: 'TaintToleration', weight: 3 },
    { name: 'NodeAffinity', weight: 2 },
    { name: 'PodTopologySpread', weight: 2 },
    { name: 'InterPodAffinity', weight: 2 },
    { name: 'NodeResourcesFit', weight: 1 },
    { name: 'NodeResourcesBalancedAllocation', weight: 1 },
  ],
};
