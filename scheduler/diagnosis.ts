/**
 * `skiff why-pending <pod>`: runs every filter on every node for one pod, as a dry run of the scheduler, and says per
 * node which plugin rejects it and what would make it fit ("needs 500m cpu, largest free is 200m on node-3").
 */
import type { ApiClient } from '../lib/kube/api.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { Nodes, Pods } from '../lib/kube/resources.ts';
import { preFilter, resolveProfile, runFilters } from './algorithm.ts';
import { SchedulerCache } from './cache.ts';
import { CycleState, type ClusterView, type Status } from './framework/types.ts';
import { DEFAULT_PROFILE, PLUGINS } from './plugins/registry.ts';

export interface NodeVerdict {
  node: string;
  fits: boolean;
  plugin?: string;
  reasons: string[];
  hint?: string;
}

export interface Diagnosis {
  pod: string;
  nodes: NodeVerdict[];
  summary: string;
}

export function explainPod(pod: KubeObject, cluster: ClusterView): Diagnosis {
  const profile = resolveProfile(DEFAULT_PROFILE);
  const state = new CycleState();
  const pre = preFilter(profile, state, pod, cluster);
  const verdicts: NodeVerdict[] = [];
  for (const n of cluster.nodes()) {
    const s: Status | undefined = pre ?? runFilters(profile, state, pod, n);
    if (!s) {
      verdicts.push({ node: n.name, fits: true, reasons: [] });
      continue;
    }
    const plugin = s.plugin ? PLUGINS.get(s.plugin) : undefined;
    verdicts.push({ node: n.name, fits: false, plugin: s.plugin, reasons: s.reasons, hint: plugin?.hint?.(pod, n, cluster) });
  }
  verdicts.sort((a, b) => a.node.localeCompare(b.node));
  const fit = verdicts.filter((v) => v.fits).length;
  const total = verdicts.length;
  const summary = total === 0 ? 'there are no nodes' : fit ? `${fit}/${total} node(s) fit the pod now: it should be scheduled shortly` : `0/${total} nodes fit the pod`;
  return { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, nodes: verdicts, summary };
}

export function formatDiagnosis(d: Diagnosis): string {
  const lines = [`pod ${d.pod}: ${d.summary}`];
  if (!d.nodes.length) return lines.join('\n');
  const rows = [['NODE', 'PLUGIN', 'REASON', 'WHAT WOULD MAKE IT FIT']];
  for (const v of d.nodes) rows.push([v.node, v.fits ? '-' : v.plugin ?? '?', v.fits ? 'fits' : v.reasons.join('; '), v.hint ?? '']);
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  lines.push('');
  for (const r of rows) lines.push(r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(w[c]))).join('  ').trimEnd());
  return lines.join('\n');
}

/** reads the pod, the nodes and the pods on them from the API, and explains */
export async function whyPending(client: ApiClient, namespace: string, name: string): Promise<string> {
  const pod = await client.get(Pods, namespace, name);
  if (pod.spec?.nodeName) return `pod ${namespace}/${name} is already bound to node ${pod.spec.nodeName}: it is not pending on the scheduler`;
  if (pod.metadata.deletionTimestamp) return `pod ${namespace}/${name} is being deleted`;
  const cache = new SchedulerCache();
  for (const n of (await client.list(Nodes)).items) cache.upsertNode(n);
  let cont: string | undefined;
  do {
    const page = await client.list(Pods, { fieldSelector: 'spec.nodeName!=', limit: 1000, continue: cont });
    for (const p of page.items) cache.upsertPod(p);
    cont = page.metadata.continue || undefined;
  } while (cont);
  const cond = (pod.status?.conditions ?? []).find((c: any) => c.type === 'PodScheduled' && c.status === 'False');
  const text = formatDiagnosis(explainPod(pod, cache));
  return cond?.message ? `${text}\n\nscheduler said: ${cond.message}` : text;
}
