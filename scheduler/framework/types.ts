/**
 * The scheduling framework's extension points, in kube-scheduler's shape: PreFilter, Filter, PostFilter, PreScore,
 * Score (with NormalizeScore), Reserve/Unreserve and Bind. A plugin implements some of them; every Filter rejection
 * carries a reason a person can read, and the reasons add up to the pod's Unschedulable message.
 */
import type { ApiClient } from '../../lib/kube/api.ts';
import type { Pod } from '../../lib/kube/types/core-v1.ts';
import type { NodeInfo } from './node-info.ts';

/**
 * Success; Unschedulable (the node may fit once other pods go away: preemption may help); UnschedulableAndUnresolvable
 * (nothing about other pods will help); Error (a fault, not a verdict); Skip (from PreFilter/PreScore: the plugin has
 * nothing to do for this pod, its Filter/Score is not run).
 */
export type Code = 'Success' | 'Unschedulable' | 'UnschedulableAndUnresolvable' | 'Error' | 'Skip';

export interface Status {
  readonly code: Code;
  readonly reasons: readonly string[];
  /** the plugin that returned it (set by the framework) */
  readonly plugin?: string;
  /** PreFilter only: the pod can fit on these nodes at most (NodeName, NodeAffinity on metadata.name) */
  readonly nodeNames?: ReadonlySet<string>;
  /** Error only: the fault underneath (an ApiError from a bind, say) */
  readonly error?: unknown;
}

export const SUCCESS: Status = Object.freeze({ code: 'Success', reasons: [] });
export const SKIP: Status = Object.freeze({ code: 'Skip', reasons: [] });

export function unschedulable(...reasons: string[]): Status {
  return { code: 'Unschedulable', reasons };
}
export function unresolvable(...reasons: string[]): Status {
  return { code: 'UnschedulableAndUnresolvable', reasons };
}
export function errorStatus(message: string, error?: unknown): Status {
  return { code: 'Error', reasons: [message], error };
}
/** a PreFilter success that limits the nodes worth filtering */
export function onlyNodes(names: Iterable<string>): Status {
  return { code: 'Success', reasons: [], nodeNames: new Set(names) };
}
export function isSuccess(s: Status | undefined): boolean {
  return !s || s.code === 'Success';
}
export function withPlugin(s: Status, plugin: string): Status {
  return s.plugin === plugin ? s : { ...s, plugin };
}

/** per-cycle data plugins compute in PreFilter/PreScore and read in Filter/Score */
export class CycleState {
  private readonly data = new Map<string, unknown>();
  /** plugins whose PreFilter said Skip: their Filter is not run */
  readonly skipFilter = new Set<string>();
  /** plugins whose PreScore said Skip: their Score is not run */
  readonly skipScore = new Set<string>();
  read<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }
  write(key: string, v: unknown): void {
    this.data.set(key, v);
  }
}

/**
 * The state of the cluster a scheduling cycle decides on. A cycle runs synchronously, start to end, on the event loop,
 * so no watch event can change the view while it runs: the scheduler's cache is its own snapshot, with no copy made.
 */
export interface Snapshot {
  /** every node, in a stable order between changes */
  nodes(): readonly NodeInfo[];
  node(name: string): NodeInfo | undefined;
  /** nodes holding at least one pod with required pod anti-affinity */
  nodesWithRequiredAntiAffinity(): Iterable<NodeInfo>;
  /** nodes holding at least one pod with pod affinity or anti-affinity of any kind */
  nodesWithAffinity(): Iterable<NodeInfo>;
}

/** why each examined node was rejected; nodes not in the map got `absent` (or were not examined) */
export interface NodeStatuses {
  readonly byNode: ReadonlyMap<string, Status>;
  readonly absent?: Status;
}

/** what a plugin may use beyond its arguments */
export interface Handle {
  client: ApiClient;
}

export interface Plugin {
  readonly name: string;
}

export interface PreFilterPlugin extends Plugin {
  preFilter(state: CycleState, pod: Pod, snapshot: Snapshot): Status;
}

export interface FilterPlugin extends Plugin {
  filter(state: CycleState, pod: Pod, node: NodeInfo): Status;
}

export interface PostFilterResult {
  status: Status;
  /** the node the pod is expected to fit on once preemption victims are gone */
  nominatedNodeName?: string;
  /** pods to remove for the pod to fit there */
  victims?: Pod[];
}

/** runs when no node fits; may make room (preemption), and says why not in its status message */
export interface PostFilterPlugin extends Plugin {
  postFilter(
    state: CycleState,
    pod: Pod,
    snapshot: Snapshot,
    statuses: NodeStatuses,
    filter: (pod: Pod, node: NodeInfo) => Status,
  ): PostFilterResult;
}

export interface PreScorePlugin extends Plugin {
  preScore(state: CycleState, pod: Pod, nodes: readonly NodeInfo[], snapshot: Snapshot): Status;
}

export interface ScorePlugin extends Plugin {
  /** the raw score; 0..100 after normalizeScores (or as is, for plugins without it) */
  score(state: CycleState, pod: Pod, node: NodeInfo): number;
  /** rescales the scores of `nodes` (same order) in place */
  normalizeScores?(state: CycleState, pod: Pod, scores: number[], nodes: readonly NodeInfo[]): void;
}

export interface ReservePlugin extends Plugin {
  reserve(state: CycleState, pod: Pod, nodeName: string): Status;
  /** undoes reserve when a later step fails; must be idempotent */
  unreserve(state: CycleState, pod: Pod, nodeName: string): void;
}

export interface BindPlugin extends Plugin {
  /** Skip: not for this plugin, the next bind plugin is asked */
  bind(state: CycleState, pod: Pod, nodeName: string, handle: Handle): Promise<Status>;
}

/** an explanation for `skiff why-pending`: what would make the pod fit on this node */
export interface HintPlugin extends Plugin {
  hint(pod: Pod, node: NodeInfo, snapshot: Snapshot): string | undefined;
}

export type AnyPlugin = Plugin &
  Partial<Omit<PreFilterPlugin, 'name'>> &
  Partial<Omit<FilterPlugin, 'name'>> &
  Partial<Omit<PostFilterPlugin, 'name'>> &
  Partial<Omit<PreScorePlugin, 'name'>> &
  Partial<Omit<ScorePlugin, 'name'>> &
  Partial<Omit<ReservePlugin, 'name'>> &
  Partial<Omit<BindPlugin, 'name'>> &
  Partial<Omit<HintPlugin, 'name'>>;

export const MAX_NODE_SCORE = 100;

/** scales raw scores so that the highest is 100; reversed, the lowest is 100 (kube-scheduler's DefaultNormalizeScore) */
export function normalize(scores: number[], reverse: boolean): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  if (max === 0) {
    if (reverse) scores.fill(MAX_NODE_SCORE);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    const v = Math.trunc((MAX_NODE_SCORE * scores[i]) / max);
    scores[i] = reverse ? MAX_NODE_SCORE - v : v;
  }
}
