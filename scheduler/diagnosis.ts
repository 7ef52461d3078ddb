/**
 * `skiff why-pending <pod>`: runs every filter on every node for one pod, as a dry run of the scheduler, and says per
 * node which plugin rejects it and what would make it fit ("needs 500m cpu, 200m free here; largest free is 1 on
 * node-3"; the toleration a taint needs; the labels a selector misses).
 */
import type { ApiClient } from '../lib/kube/api.ts';
import { Nodes, Pods } from '../lib/kube/resources.ts';
import type { Node, Pod } from '../lib/kube/types/core-v1.ts';
import { fitErrorMessage, resolveProfile, runFilters, runPreFilters, type ResolvedProfile } from './algorithm.ts';
import { SchedulerCache } from './cache.ts';
import { CycleState, type Snapshot, type Status } from './framework/types.ts';
import { DEFAULT_PROFILE, PLUGINS } from './plugins/registry.ts';

export interface NodeVerdict {
  node: string;
  fits: boolean;
  /** the plugin that rejected the pod there */
  plugin?: string;
  reasons: string[];
  /** what would make the pod fit there */
  hint?: string;
}

export interface Diagnosis {
  /** "namespace/name" */
  pod: string;
  /** nodes sorted by name */
  nodes: NodeVerdict[];
  /** one line: how many nodes fit */
  summary: string;
  /** what the scheduler would say when none fits (kube-scheduler's message without the preemption part) */
  message?: string;
}

let defaultProfile: ResolvedProfile | undefined;

/** nodes and pods as listed from the API */
export interface ListedCluster {
  nodes: Iterable<Node>;
  pods: Iterable<Pod>;
}

function isSnapshot(c: Snapshot | ListedCluster): c is Snapshot {
  return typeof c.nodes === 'function';
}

/** explains where the pod fits, on a snapshot (the scheduler's cache) or on listed nodes and pods */
export function explainPod(pod: Pod, cluster: Snapshot | ListedCluster): Diagnosis {
  const snapshot = isSnapshot(cluster) ? cluster : SchedulerCache.fromObjects(cluster.nodes, cluster.pods);
  const profile = (defaultProfile ??= resolveProfile(DEFAULT_PROFILE));
  const state = new CycleState();
  const pre = runPreFilters(profile, state, pod, snapshot);
  const verdicts: NodeVerdict[] = [];
  const byNode = new Map<string, Status>();
  for (const n of snapshot.nodes()) {
    let s: Status | undefined = pre.rejected;
    if (!s && pre.nodeNames && !pre.nodeNames.has(n.name)) {
      s = {
        code: 'UnschedulableAndUnresolvable',
        reasons: [`node(s) didn't satisfy plugin(s) [${pre.narrowedBy.join(' ')}]`],
        plugin: pre.narrowedBy.join(', '),
      };
    }
    s ??= runFilters(profile, state, pod, n);
    if (!s) {
      verdicts.push({ node: n.name, fits: true, reasons: [] });
      continue;
    }
    byNode.set(n.name, s);
    const plugins = (s.plugin ?? '').split(', ').map((p) => PLUGINS.get(p));
    const hints = plugins.map((p) => p?.hint?.(pod, n, snapshot)).filter((h): h is string => !!h);
    verdicts.push({
      node: n.name,
      fits: false,
      plugin: s.plugin,
      reasons: [...s.reasons],
      hint: hints.join('; ') || undefined,
    });
  }
  verdicts.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  const fit = verdicts.filter((v) => v.fits).length;
  const total = verdicts.length;
  const summary =
    total === 0
      ? 'there are no nodes'
      : fit
        ? `${fit}/${total} node(s) fit the pod now: it should be scheduled shortly`
        : `0/${total} nodes fit the pod`;
  const message =
    fit || !total
      ? undefined
      : fitErrorMessage(total, pre.rejected ? { preFilterStatus: pre.rejected } : { statuses: { byNode } });
  return { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, nodes: verdicts, summary, message };
}

/** the diagnosis as a table: NODE, PLUGIN, REASON, WHAT WOULD MAKE IT FIT */
export function formatDiagnosis(d: Diagnosis): string {
  const lines = [`pod ${d.pod}: ${d.summary}`];
  if (d.message) lines.push(d.message);
  if (!d.nodes.length) return lines.join('\n');
  const rows = [['NODE', 'PLUGIN', 'REASON', 'WHAT WOULD MAKE IT FIT']];
  for (const v of d.nodes)
    rows.push([v.node, v.fits ? '-' : (v.plugin ?? '?'), v.fits ? 'fits' : v.reasons.join('; '), v.hint ?? '']);
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  lines.push('');
  for (const r of rows)
    lines.push(
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(w[c])))
        .join('  ')
        .trimEnd(),
    );
  return lines.join('\n');
}

/** reads the pod, the nodes and the pods on them from the API, and explains where the pod fits and why not */
export async function whyPending(client: ApiClient, namespace: string, name: string): Promise<string> {
  const pod = await client.get(Pods, namespace, name);
  if (pod.spec?.nodeName)
    return `pod ${namespace}/${name} is bound to node ${pod.spec.nodeName}: it is not waiting for the scheduler`;
  if (pod.metadata.deletionTimestamp) return `pod ${namespace}/${name} is being deleted`;
  const scheduler = pod.spec?.schedulerName || DEFAULT_PROFILE.schedulerName;
  const nodes = (await client.list(Nodes)).items;
  const pods: Pod[] = [];
  let cont: string | undefined;
  do {
    const page = await client.list(Pods, { fieldSelector: 'spec.nodeName!=', limit: 1000, continue: cont });
    pods.push(...page.items);
    cont = page.metadata.continue || undefined;
  } while (cont);
  let text = formatDiagnosis(explainPod(pod, { nodes, pods }));
  if (scheduler !== DEFAULT_PROFILE.schedulerName)
    text = `note: the pod asks for scheduler "${scheduler}", not ${DEFAULT_PROFILE.schedulerName}\n${text}`;
  const cond = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled' && c.status === 'False');
  return cond?.message ? `${text}\n\nthe scheduler said: ${cond.message}` : text;
}
