/**
 * Every scheduler plugin by name, and the default profile: which plugins run at which extension point, in which
 * order, and the weights of the scores, as kube-scheduler's default profile (volume and image plugins aside).
 */
import type { AnyPlugin } from '../framework/types.ts';
import { balancedAllocation } from './balanced-allocation/index.ts';
import { defaultBinder } from './default-binder/index.ts';
import { defaultPreemption } from './default-preemption/index.ts';
import { interPodAffinity } from './inter-pod-affinity/index.ts';
import { nodeAffinity } from './node-affinity/index.ts';
import { nodeName } from './node-name/index.ts';
import { nodePorts } from './node-ports/index.ts';
import { nodeResourcesFit } from './node-resources-fit/index.ts';
import { nodeUnschedulable } from './node-unschedulable/index.ts';
import { podTopologySpread } from './pod-topology-spread/index.ts';
import { taintToleration } from './taint-toleration/index.ts';

export const PLUGINS: ReadonlyMap<string, AnyPlugin> = new Map<string, AnyPlugin>(
  [
    nodeUnschedulable,
    nodeName,
    taintToleration,
    nodeAffinity,
    nodePorts,
    nodeResourcesFit,
    podTopologySpread,
    interPodAffinity,
    balancedAllocation,
    defaultPreemption,
    defaultBinder,
  ].map((p) => [p.name, p as AnyPlugin]),
);

export interface Profile {
  /** the spec.schedulerName of the pods it schedules */
  schedulerName: string;
  /** PreFilter and Filter, in order (the cheap and most selective first) */
  filters: string[];
  /** run when no node fits */
  postFilters: string[];
  /** PreScore and Score, with the weight of each score */
  scores: { name: string; weight: number }[];
  reserves: string[];
  /** the first that does not Skip binds */
  binds: string[];
  /** 0: adaptive (50% - nodes/125, at least 5%) */
  percentageOfNodesToScore?: number;
}

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

export const DEFAULT_PROFILE: Profile = {
  schedulerName: DEFAULT_SCHEDULER_NAME,
  filters: [
    'NodeUnschedulable',
    'NodeName',
    'TaintToleration',
    'NodeAffinity',
    'NodePorts',
    'NodeResourcesFit',
    'PodTopologySpread',
    'InterPodAffinity',
  ],
  postFilters: ['DefaultPreemption'],
  scores: [
    { name: 'TaintToleration', weight: 3 },
    { name: 'NodeAffinity', weight: 2 },
    { name: 'PodTopologySpread', weight: 2 },
    { name: 'InterPodAffinity', weight: 2 },
    { name: 'NodeResourcesFit', weight: 1 },
    { name: 'NodeResourcesBalancedAllocation', weight: 1 },
  ],
  reserves: [],
  binds: ['DefaultBinder'],
};
