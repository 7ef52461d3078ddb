/**
 * One scheduling decision: filter nodes (starting where the last cycle stopped, and only until enough feasible nodes
 * are found, as kube-scheduler's percentageOfNodesToScore), score the feasible ones with the weighted score plugins,
 * pick the best (ties at random). When nothing fits, the per-node statuses make the Unschedulable message.
 */
import type { KubeObject } from '../lib/kube/object.ts';
import type { NodeInfo } from './framework/node-info.ts';
import { CycleState, type AnyPlugin, type ClusterView, type Status } from './framework/types.ts';
import { PLUGINS, type Profile } from './plugins/registry.ts';

export interface Decision {
  node?: string;
  /** nodes examined and how many fit */
  evaluated: number;
  feasible: number;
  /** when nothing fits: each node's rejection */
  rejections?: Map<string, Status>;
  /** a PreFilter rejected the pod outright */
  preFilterStatus?: Status;
}

const MIN_FEASIBLE_NODES = 100;
const MIN_PERCENTAGE = 5;

/** how many feasible nodes to look for before scoring (adaptive percentageOfNodesToScore) */
export function feasibleNodesToFind(total: number): number {
  if (total < MIN_FEASIBLE_NODES) return total;
  const pct = Math.max(MIN_PERCENTAGE, 50 - Math.floor(total / 125));
  return Math.max(MIN_FEASIBLE_NODES, Math.floor((total * pct) / 100));
}

export interface ResolvedProfile {
  preFilters: AnyPlugin[];
  filters: AnyPlugin[];
  preScores: AnyPlugin[];
  scores: { plugin: AnyPlugin; weight: number }[];
}

export function resolveProfile(p: Profile): ResolvedProfile {
  const get = (n: string) => {
    const pl = PLUGINS.get(n);
    if (!pl) throw new Error(`scheduler profile names an unknown plugin "${n}"`);
    return pl;
  };
  const filters = p.filters.map(get);
  const scores = p.scores.map((s) => ({ plugin: get(s.name), weight: s.weight }));
  const all = [...new Set([...filters, ...scores.map((s) => s.plugin)])];
  return {
    preFilters: filters.filter((f) => f.preFilter),
    filters: filters.filter((f) => f.filter),
    preScores: all.filter((f) => f.preScore),
    scores: scores.filter((s) => s.plugin.score),
  };
}

/** runs the filters for one node; the first rejection wins */
export function runFilters(profile: ResolvedProfile, state: CycleState, pod: KubeObject, n: NodeInfo): Status | undefined {
  for (const f of profile.filters) {
    if (state.skipFilter.has(f.name)) continue;
    const s = f.filter!(state, pod, n);
    if (s.code !== 'Success') return s.plugin ? s : { ...s, plugin: f.name };
  }
  return undefined;
}

export function preFilter(profile: ResolvedProfile, state: CycleState, pod: KubeObject, cluster: ClusterView): Status | undefined {
  for (const p of profile.preFilters) {
    const s = p.preFilter!(state, pod, cluster);
    if (s.code === 'Skip') state.skipFilter.add(p.name);
    else if (s.code !== 'Success') return { ...s, plugin: p.name };
  }
  return undefined;
}

export function decide(profile: ResolvedProfile, pod: KubeObject, cluster: ClusterView, start: number): Decision & { next: number } {
  const nodes = cluster.nodes();
  const total = nodes.length;
  const state = new CycleState();
  const pre = preFilter(profile, state, pod, cluster);
  if (pre) return { evaluated: 0, feasible: 0, preFilterStatus: pre, next: start };
  const want = feasibleNodesToFind(total);
  const feasible: NodeInfo[] = [];
  let rejections: Map<string, Status> | undefined = new Map();
  let i = 0;
  for (; i < total && feasible.length < want; i++) {
    const n = nodes[(start + i) % total];
    const s = runFilters(profile, state, pod, n);
    if (s) rejections?.set(n.name, s);
    else feasible.push(n);
  }
  const next = total ? (start + i) % total : 0;
  if (!feasible.length) return { evaluated: i, feasible: 0, rejections, next };
  rejections = undefined;
  if (feasible.length === 1) return { node: feasible[0].name, evaluated: i, feasible: 1, next };

  const totals = new Array<number>(feasible.length).fill(0);
  for (const p of profile.preScores) {
    const s = p.preScore!(state, pod, feasible, cluster);
    if (s.code === 'Skip') state.skipScore.add(p.name);
  }
  const scores = new Array<number>(feasible.length);
  for (const { plugin, weight } of profile.scores) {
    if (state.skipScore.has(plugin.name)) continue;
    for (let k = 0; k < feasible.length; k++) scores[k] = plugin.score!(state, pod, feasible[k]);
    plugin.normalizeScores?.(state, pod, scores);
    for (let k = 0; k < feasible.length; k++) totals[k] += scores[k] * weight;
  }
  let best = -Infinity;
  let pick = 0;
  let ties = 0;
  for (let k = 0; k < feasible.length; k++) {
    if (totals[k] > best) {
      best = totals[k];
      pick = k;
      ties = 1;
    } else if (totals[k] === best && Math.random() * ++ties < 1) {
      pick = k;
    }
  }
  return { node: feasible[pick].name, evaluated: i, feasible: feasible.length, next };
}

/** "0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated taint {a: b}." */
export function fitErrorMessage(total: number, d: Decision): string {
  if (total === 0) return 'no nodes available to schedule pods';
  const hist = new Map<string, number>();
  if (d.preFilterStatus) {
    for (const r of d.preFilterStatus.reasons) hist.set(r, total);
  } else {
    for (const s of d.rejections?.values() ?? []) for (const r of s.reasons) hist.set(r, (hist.get(r) ?? 0) + 1);
  }
  const parts = [...hist].map(([r, n]) => `${n} ${r}`).sort();
  return `0/${total} nodes are available: ${parts.join(', ')}.`;
}
