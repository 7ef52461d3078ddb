/**
 * The scheduling framework's extension points, in kube-scheduler's shape. A plugin implements some of them; every
 * Filter rejection carries a reason a person can read, and the reasons add up to the pod's Unschedulable message.
 */
import type { KubeObject } from '../../lib/kube/object.ts';
import type { NodeInfo } from './node-info.ts';

export type Code = 'Success' | 'Unschedulable' | 'UnschedulableAndUnresolvable' | 'Error' | 'Skip';

export interface Status {
  code: Code;
  reasons: string[];
  plugin?: string;
}

export const SUCCESS: Status = Object.freeze({ code: 'Success', reasons: [] }) as Status;
export const SKIP: Status = Object.freeze({ code: 'Skip', reasons: [] }) as Status;

export function unschedulable(...reasons: string[]): Status {
  return { code: 'Unschedulable', reasons };
}
export function unresolvable(...reasons: string[]): Status {
  return { code: 'UnschedulableAndUnresolvable', reasons };
}
export function isSuccess(s: Status | undefined): boolean {
  return !s || s.code === 'Success';
}

/** per-cycle data plugins compute in PreFilter/PreScore and read in Filter/Score */
export class CycleState {
  private readonly data = new Map<string, unknown>();
  /** plugins whose PreFilter said Skip: their Filter is not run */
  readonly skipFilter = new Set<string>();
  readonly skipScore = new Set<string>();
  read<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }
  write(key: string, v: unknown): void {
    this.data.set(key, v);
  }
}

/** what plugins may look at beyond the node they judge */
export interface ClusterView {
  /** every node, in a stable order */
  nodes(): readonly NodeInfo[];
  node(name: string): NodeInfo | undefined;
  /** nodes that hold at least one pod with required anti-affinity */
  nodesWithRequiredAntiAffinity(): Iterable<NodeInfo>;
}

export interface Plugin {
  readonly name: string;
}

export interface PreFilterPlugin extends Plugin {
  preFilter(state: CycleState, pod: KubeObject, cluster: ClusterView): Status;
}

export interface FilterPlugin extends Plugin {
  filter(state: CycleState, pod: KubeObject, node: NodeInfo): Status;
}

export interface PreScorePlugin extends Plugin {
  preScore(state: CycleState, pod: KubeObject, nodes: readonly NodeInfo[], cluster: ClusterView): Status;
}

export interface ScorePlugin extends Plugin {
  /** 0..100 after normalizeScores (if any) */
  score(state: CycleState, pod: KubeObject, node: NodeInfo): number;
  normalizeScores?(state: CycleState, pod: KubeObject, scores: number[]): void;
}

/** an explanation for `skiff why-pending`: what would make the pod fit on this node */
export interface HintPlugin extends Plugin {
  hint(pod: KubeObject, node: NodeInfo, cluster: ClusterView): string | undefined;
}

export type AnyPlugin = Partial<PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin & HintPlugin> & Plugin;

export const MAX_NODE_SCORE = 100;

/** scales raw scores so that the best is 100 (or reversed: the lowest is best) */
export function normalize(scores: number[], reverse: boolean): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  if (max === 0) {
    if (reverse) scores.fill(MAX_NODE_SCORE);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    const v = Math.floor((MAX_NODE_SCORE * scores[i]) / max);
    scores[i] = reverse ? MAX_NODE_SCORE - v : v;
  }
}
