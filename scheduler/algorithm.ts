/**
 * One scheduling decision, kube-scheduler's schedulePod: PreFilter (which may narrow the nodes), Filter (from where
 * the last cycle stopped, and only until enough feasible nodes are found: the adaptive percentageOfNodesToScore),
 * PreScore and weighted Score over the feasible nodes, the best node with ties broken at random. When nothing fits,
 * the per-node statuses make the FitError message.
 */
import type { Pod } from '../lib/kube/types/core-v1.ts';
import type { NodeInfo } from './framework/node-info.ts';
import {
  CycleState,
  withPlugin,
  type AnyPlugin,
  type NodeStatuses,
  type Snapshot,
  type Status,
} from './framework/types.ts';
import { PLUGINS, type Profile } from './plugins/registry.ts';

export interface Decision {
  node?: string;
  /** nodes examined and how many of them fit */
  evaluated: number;
  feasible: number;
  /** when nothing fits: why, per node */
  statuses?: NodeStatuses;
  /** a PreFilter rejected the pod outright */
  preFilterStatus?: Status;
  /** where the next cycle starts examining nodes */
  next: number;
  state: CycleState;
}

const MIN_FEASIBLE_NODES = 100;
const MIN_PERCENTAGE = 5;

/** how many feasible nodes to look for before scoring (kube-scheduler's adaptive percentageOfNodesToScore) */
export function feasibleNodesToFind(total: number, percentage = 0): number {
  if (total < MIN_FEASIBLE_NODES) return total;
  let pct = percentage;
  if (pct <= 0) pct = Math.max(MIN_PERCENTAGE, 50 - Math.trunc(total / 125));
  if (pct >= 100) return total;
  return Math.max(MIN_FEASIBLE_NODES, Math.trunc((total * pct) / 100));
}

export interface ResolvedProfile {
  readonly profile: Profile;
  preFilters: AnyPlugin[];
  filters: AnyPlugin[];
  postFilters: AnyPlugin[];
  preScores: AnyPlugin[];
  scores: { plugin: AnyPlugin; weight: number }[];
  reserves: AnyPlugin[];
  binds: AnyPlugin[];
}

export function resolveProfile(p: Profile): ResolvedProfile {
  const get = (n: string) => {
    const pl = PLUGINS.get(n);
    if (!pl)
      throw new Error(
        `scheduler profile "${p.schedulerName}" names an unknown plugin "${n}"; known: ${[...PLUGINS.keys()].join(', ')}`,
      );
    return pl;
  };
  const filters = p.filters.map(get);
  const scores = p.scores.map((s) => ({ plugin: get(s.name), weight: s.weight }));
  const scored = [...new Set(scores.map((s) => s.plugin))];
  const need = (list: AnyPlugin[], method: keyof AnyPlugin, point: string) => {
    for (const pl of list) if (!pl[method]) throw new Error(`plugin ${pl.name} has no ${point} extension point`);
    return list;
  };
  return {
    profile: p,
    preFilters: filters.filter((f) => f.preFilter),
    filters: filters.filter((f) => f.filter),
    postFilters: need(p.postFilters.map(get), 'postFilter', 'PostFilter'),
    preScores: scored.filter((f) => f.preScore),
    scores: scores.filter((s) => s.plugin.score),
    reserves: need(p.reserves.map(get), 'reserve', 'Reserve'),
    binds: need(p.binds.map(get), 'bind', 'Bind'),
  };
}

/** runs the filters for one node; the first rejection wins */
export function runFilters(profile: ResolvedProfile, state: CycleState, pod: Pod, n: NodeInfo): Status | undefined {
  for (const f of profile.filters) {
    if (state.skipFilter.has(f.name)) continue;
    const s = f.filter!(state, pod, n);
    if (s.code !== 'Success') return withPlugin(s, f.name);
  }
  return undefined;
}

export interface PreFilterOutcome {
  /** a rejection of the pod on every node */
  rejected?: Status;
  /** the nodes the PreFilters left (undefined: all) and the plugins that narrowed them */
  nodeNames?: ReadonlySet<string>;
  narrowedBy: string[];
}

export function runPreFilters(
  profile: ResolvedProfile,
  state: CycleState,
  pod: Pod,
  snapshot: Snapshot,
): PreFilterOutcome {
  let names: Set<string> | undefined;
  const narrowedBy: string[] = [];
  for (const p of profile.preFilters) {
    const s = p.preFilter!(state, pod, snapshot);
    if (s.code === 'Skip') {
      state.skipFilter.add(p.name);
      continue;
    }
    if (s.code !== 'Success') return { rejected: withPlugin(s, p.name), narrowedBy };
    if (s.nodeNames) {
      narrowedBy.push(p.name);
      names = names ? new Set([...names].filter((n) => s.nodeNames!.has(n))) : new Set(s.nodeNames);
      if (!names.size) {
        const msg =
          narrowedBy.length === 1
            ? `node(s) didn't satisfy plugin ${narrowedBy[0]}`
            : `node(s) didn't satisfy plugin(s) [${narrowedBy.join(' ')}] simultaneously`;
        return { rejected: { code: 'UnschedulableAndUnresolvable', reasons: [msg], plugin: p.name }, narrowedBy };
      }
    }
  }
  return { nodeNames: names, narrowedBy };
}

/** decides a node for the pod, or says why none fits */
export function schedulePod(
  profile: ResolvedProfile,
  pod: Pod,
  snapshot: Snapshot,
  start: number,
  percentage = 0,
): Decision {
  const all = snapshot.nodes();
  const state = new CycleState();
  const pre = runPreFilters(profile, state, pod, snapshot);
  if (pre.rejected) return { evaluated: 0, feasible: 0, preFilterStatus: pre.rejected, next: start, state };

  let nodes: readonly NodeInfo[] = all;
  let absent: Status | undefined;
  if (pre.nodeNames) {
    const picked: NodeInfo[] = [];
    for (const name of pre.nodeNames) {
      const n = snapshot.node(name);
      if (n) picked.push(n);
    }
    nodes = picked;
    absent = {
      code: 'UnschedulableAndUnresolvable',
      reasons: [`node(s) didn't satisfy plugin(s) [${[...new Set(pre.narrowedBy)].sort().join(' ')}]`],
    };
  }
  const total = nodes.length;
  const want = feasibleNodesToFind(total, percentage);
  const feasible: NodeInfo[] = [];
  const byNode = new Map<string, Status>();
  const from = pre.nodeNames || !total ? 0 : start % total;
  let i = 0;
  for (; i < total && feasible.length < want; i++) {
    const n = nodes[(from + i) % total];
    const s = runFilters(profile, state, pod, n);
    if (s) byNode.set(n.name, s);
    else feasible.push(n);
  }
  const next = pre.nodeNames ? start : total ? (from + i) % total : 0;
  if (!feasible.length) return { evaluated: i, feasible: 0, statuses: { byNode, absent }, next, state };
  if (feasible.length === 1) return { node: feasible[0].name, evaluated: i, feasible: 1, next, state };

  const totals = scoreNodes(profile, state, pod, feasible, snapshot);
  return { node: feasible[pickBest(totals)].name, evaluated: i, feasible: feasible.length, next, state };
}

/** the weighted sum of every score plugin's (normalized) score per node */
export function scoreNodes(
  profile: ResolvedProfile,
  state: CycleState,
  pod: Pod,
  nodes: readonly NodeInfo[],
  snapshot: Snapshot,
): number[] {
  const totals = new Array<number>(nodes.length).fill(0);
  for (const p of profile.preScores) {
    const s = p.preScore!(state, pod, nodes, snapshot);
    if (s.code === 'Skip') state.skipScore.add(p.name);
  }
  const scores = new Array<number>(nodes.length);
  for (const { plugin, weight } of profile.scores) {
    if (state.skipScore.has(plugin.name)) continue;
    for (let k = 0; k < nodes.length; k++) scores[k] = plugin.score!(state, pod, nodes[k]);
    plugin.normalizeScores?.(state, pod, scores, nodes);
    for (let k = 0; k < nodes.length; k++) totals[k] += scores[k] * weight;
  }
  return totals;
}

/** the index of the highest total; among equals, each has the same chance (reservoir sampling) */
export function pickBest(totals: readonly number[], random: () => number = Math.random): number {
  let best = -Infinity;
  let pick = 0;
  let ties = 0;
  for (let k = 0; k < totals.length; k++) {
    if (totals[k] > best) {
      best = totals[k];
      pick = k;
      ties = 1;
    } else if (totals[k] === best && random() * ++ties < 1) {
      pick = k;
    }
  }
  return pick;
}

export const NO_NODES_MESSAGE = 'no nodes available to schedule pods';

/** "3 Insufficient cpu, 2 node(s) had untolerated taint {a: b}": reasons counted over nodes, sorted as strings */
export function reasonHistogram(total: number, statuses: NodeStatuses | undefined): string {
  const hist = new Map<string, number>();
  const count = (r: string, n: number) => hist.set(r, (hist.get(r) ?? 0) + n);
  if (statuses) {
    for (const s of statuses.byNode.values()) for (const r of s.reasons) count(r, 1);
    const rest = total - statuses.byNode.size;
    if (statuses.absent && rest > 0) for (const r of statuses.absent.reasons) count(r, rest);
  }
  return [...hist]
    .map(([r, n]) => `${n} ${r}`)
    .sort()
    .join(', ');
}

/**
 * kube-scheduler's FitError message: "0/5 nodes are available: <reasons>." followed by what the PostFilter
 * (preemption) said, each part closed by a period.
 */
export function fitErrorMessage(
  total: number,
  d: Pick<Decision, 'preFilterStatus' | 'statuses'>,
  postFilterMessage?: string,
): string {
  if (total === 0 && !d.preFilterStatus) return NO_NODES_MESSAGE;
  let msg = `0/${total} nodes are available:`;
  if (d.preFilterStatus) {
    const m = d.preFilterStatus.reasons.join(', ');
    if (m) msg += ` ${m}.`;
  } else {
    const h = reasonHistogram(total, d.statuses);
    if (h) msg += ` ${h}.`;
  }
  if (postFilterMessage) msg += ` ${postFilterMessage}.`;
  return msg;
}
