/**
 * Resource usage of the node and its pods, published as metrics.k8s.io objects (PodMetrics per pod, NodeMetrics for
 * the node) so `kubectl top` and the HorizontalPodAutoscaler read it through the API server, as they would read
 * metrics-server. Container figures come from CRI ListContainerStats: CPU as the rate of cumulative CPU time between
 * two samples (nanocores), memory as the working set. One CRI call per period, one write per pod.
 */
import { readFileSync } from 'node:fs';
import type { ApiClient } from '../../lib/kube/api.ts';
import { isAlreadyExists, isNamespaceTerminating, isNotFound } from '../../lib/kube/api.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { NodeMetrics, PodMetrics, type Resource } from '../../lib/kube/resources.ts';
import type { CriClient } from '../cri/client.ts';
import * as L from '../pods/labels.ts';
import { rfc3339 } from '../../lib/time.ts';

export const METRICS_PERIOD_MS = 15_000;

interface Sample {
  at: number;
  cpuNs: number;
}

/** CPU time of the whole host in ns (from /proc/stat) and the memory in use (MemTotal - MemAvailable). */
function hostUsage(): { cpuNs: number; memoryBytes: number } {
  const stat = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  // user nice system irq softirq steal count as busy; idle and iowait do not
  const [user, nice, system, , , irq, softirq, steal] = stat;
  const ticks = user + nice + system + irq + softirq + (steal || 0);
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(meminfo)?.[1] ?? 0) * 1024;
  return { cpuNs: (ticks * 1e9) / 100, memoryBytes: kb('MemTotal') - kb('MemAvailable') };
}

export class MetricsReporter {
  private readonly samples = new Map<string, Sample>();
  private hostSample?: Sample;
  private readonly published = new Set<string>();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly client: ApiClient,
    private readonly cri: CriClient,
    private readonly nodeName: string,
    /** the pod of namespace/name, when the agent runs it (for its labels) */
    private readonly podOf: (namespace: string, name: string) => KubeObject | undefined,
    private readonly log: (msg: string) => void = () => {},
    private readonly periodMs = METRICS_PERIOD_MS,
  ) {}

  start(): void {
    const tick = async () => {
      try {
        await this.report();
      } catch (e) {
        this.log(`metrics: ${(e as Error).message}`);
      }
      if (!this.stopped) this.timer = setTimeout(tick, this.periodMs);
    };
    this.timer = setTimeout(tick, 1000);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private rate(key: string, cpuNs: number, at: number): number | undefined {
    const prev = this.samples.get(key);
    this.samples.set(key, { at, cpuNs });
    if (!prev || at <= prev.at || cpuNs < prev.cpuNs) return undefined;
    return ((cpuNs - prev.cpuNs) / (at - prev.at)) * 1e3; // ns of CPU per ms of wall time, times 1000: nanocores
  }

  async report(): Promise<void> {
    const now = Date.now();
    const stats = await this.cri.listContainerStats();
    const pods = new Map<
      string,
      { ns: string; name: string; containers: { name: string; usage: { cpu: string; memory: string } }[] }
    >();
    const seen = new Set<string>();
    for (const s of stats) {
      const labels = s.attributes?.labels ?? {};
      const ns = labels[L.POD_NAMESPACE];
      const name = labels[L.POD_NAME];
      const cname = labels[L.CONTAINER_NAME] ?? s.attributes?.metadata?.name;
      if (!ns || !name || !cname || labels[L.MANAGED_BY_NODE] !== this.nodeName) continue;
      const cpuNs = Number(s.cpu?.usage_core_nano_seconds?.value ?? 0);
      const memory = Number(s.memory?.working_set_bytes?.value ?? 0);
      const key = s.attributes.id;
      seen.add(key);
      const nanocores = this.rate(key, cpuNs, now);
      if (nanocores === undefined) continue; // a first sample: no rate yet
      const podKey = `${ns}/${name}`;
      let p = pods.get(podKey);
      if (!p) pods.set(podKey, (p = { ns, name, containers: [] }));
      p.containers.push({
        name: cname,
        usage: { cpu: `${Math.round(nanocores)}n`, memory: `${Math.round(memory / 1024)}Ki` },
      });
    }
    for (const k of [...this.samples.keys()]) if (k !== 'host' && !seen.has(k)) this.samples.delete(k);
    const ts = rfc3339(new Date(now));
    const window = `${Math.round(this.periodMs / 1000)}s`;
    for (const [key, p] of pods) {
      const pod = this.podOf(p.ns, p.name);
      if (!pod) continue;
      const obj: KubeObject = {
        apiVersion: 'metrics.k8s.io/v1beta1',
        kind: 'PodMetrics',
        metadata: { name: p.name, namespace: p.ns, labels: pod.metadata.labels ?? {} },
        timestamp: ts,
        window,
        containers: p.containers,
      } as KubeObject;
      // one pod's metrics failing does not hold back the others' nor the node's
      try {
        await this.upsert(PodMetrics, p.ns, p.name, obj);
        this.published.add(key);
      } catch (e) {
        if (!isNamespaceTerminating(e)) this.log(`metrics of pod ${key}: ${(e as Error).message}`);
      }
    }
    for (const key of [...this.published]) {
      if (pods.has(key)) continue;
      const [ns, name] = key.split('/');
      await this.client.delete(PodMetrics, ns, name).catch(() => undefined);
      this.published.delete(key);
    }
    const host = hostUsage();
    const cores = this.rate('host', host.cpuNs, now);
    if (cores !== undefined) {
      const obj = {
        apiVersion: 'metrics.k8s.io/v1beta1',
        kind: 'NodeMetrics',
        metadata: { name: this.nodeName },
        timestamp: ts,
        window,
        usage: { cpu: `${Math.round(cores)}n`, memory: `${Math.round(host.memoryBytes / 1024)}Ki` },
      } as KubeObject;
      await this.upsert(NodeMetrics, undefined, this.nodeName, obj);
    }
  }

  private async upsert(r: Resource, ns: string | undefined, name: string, obj: KubeObject): Promise<void> {
    try {
      const { metadata: _m, ...rest } = obj;
      await this.client.patch(r, ns, name, { ...rest, metadata: { labels: obj.metadata.labels ?? {} } }, 'merge');
    } catch (e) {
      if (!isNotFound(e)) throw e;
      try {
        await this.client.create(r, obj);
      } catch (e2) {
        if (!isAlreadyExists(e2)) throw e2;
      }
    }
  }
}
