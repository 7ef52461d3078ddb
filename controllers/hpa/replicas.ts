/**
 * The replica count a Resource metric asks for, with the Kubernetes HPA algorithm:
 *   desired = ceil(usageRatio * readyPods), usageRatio = current / target, no change within the 0.1 tolerance.
 * Pods being deleted or Failed are ignored; Pending pods and (for cpu) pods not Ready count as unready; pods without
 * a metric are missing. When some are missing or unready, the ratio is computed again assuming missing pods use 100%
 * of the target on a scale down and 0% on a scale up, and unready pods 0% on a scale up; if that reverses the
 * direction or falls within the tolerance, nothing changes. (Simplified: cpu's 5 minute initialization period and
 * the 30 s readiness delay are not modelled; a cpu pod is unready exactly when its Ready condition is not True.)
 */
import type { KubeObject } from '../../lib/kube/object.ts';
import { isPodReady } from '../../lib/kube/pods.ts';
import { milli, type PodMetric } from './metrics.ts';

export const TOLERANCE = 0.1;

export interface PodGroups {
  ready: number;
  unready: Set<string>;
  missing: Set<string>;
  ignored: Set<string>;
}

export function groupPods(pods: KubeObject[], metrics: Map<string, PodMetric>, resource: string): PodGroups {
  const g: PodGroups = { ready: 0, unready: new Set(), missing: new Set(), ignored: new Set() };
  for (const p of pods) {
    const name = p.metadata.name!;
    if (p.metadata.deletionTimestamp || p.status?.phase === 'Failed') {
      g.ignored.add(name);
      continue;
    }
    if (p.status?.phase === 'Pending' || !p.status?.phase) {
      g.unready.add(name);
      continue;
    }
    if (!metrics.has(name)) {
      g.missing.add(name);
      continue;
    }
    if (resource === 'cpu' && !isPodReady(p)) {
      g.unready.add(name);
      continue;
    }
    g.ready++;
  }
  return g;
}

/** what of a pod's container the requests are read from */
interface ContainerRequests {
  name?: string;
  resources?: { requests?: Record<string, unknown> };
}

/** the sum of the pods' container requests of a resource, in milli-units; an error names a container without one */
export function podRequests(pods: KubeObject[], resource: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of pods) {
    let sum = 0;
    for (const c of (p.spec?.containers as ContainerRequests[] | undefined) ?? []) {
      const v = milli(c?.resources?.requests?.[resource]);
      if (Number.isNaN(v))
        throw new Error(`missing request for ${resource} in container ${c?.name} of Pod ${p.metadata.name}`);
      sum += v;
    }
    out.set(p.metadata.name!, sum);
  }
  return out;
}

export interface Proposal {
  replicas: number;
  /** average utilization in percent of request (Utilization targets) */
  utilization?: number;
  /** average usage per pod in milli-units */
  averageMilli: number;
}

interface Ratio {
  ratio: number;
  utilization?: number;
  averageMilli: number;
}

type RatioFn = (metrics: Map<string, number>) => Ratio;

/** utilization of request: the ratio of the pods' total usage to their total requests, against the target percent */
function utilizationRatio(requests: Map<string, number>, targetPercent: number): RatioFn {
  return (metrics) => {
    let used = 0;
    let requested = 0;
    for (const [name, v] of metrics) {
      const r = requests.get(name);
      if (r === undefined) continue;
      used += v;
      requested += r;
    }
    if (requested === 0) throw new Error('no metrics returned matched known pods');
    const utilization = Math.trunc((used * 100) / requested);
    return { ratio: utilization / targetPercent, utilization, averageMilli: Math.trunc(used / metrics.size) };
  };
}

/** average value per pod against the target average (milli-units) */
function averageRatio(targetMilli: number): RatioFn {
  return (metrics) => {
    let used = 0;
    for (const v of metrics.values()) used += v;
    const avg = used / metrics.size;
    return { ratio: avg / targetMilli, averageMilli: Math.trunc(avg) };
  };
}

function replicasFor(
  currentReplicas: number,
  pods: KubeObject[],
  podMetrics: Map<string, PodMetric>,
  resource: string,
  ratioOf: RatioFn,
  missingOnScaleDown: (name: string) => number,
): Proposal {
  if (pods.length === 0) throw new Error('no pods returned by selector while calculating replica count');
  const g = groupPods(pods, podMetrics, resource);
  const names = new Set(pods.map((p) => p.metadata.name!));
  const metrics = new Map<string, number>();
  for (const [name, m] of podMetrics) {
    if (g.ignored.has(name) || g.unready.has(name) || !names.has(name)) continue;
    metrics.set(name, m.milli);
  }
  if (metrics.size === 0) throw new Error('did not receive metrics for targeted pods (pods might be unready)');
  const first = ratioOf(metrics);
  const scaleUpWithUnready = g.unready.size > 0 && first.ratio > 1;
  if (!scaleUpWithUnready && g.missing.size === 0) {
    if (Math.abs(1 - first.ratio) <= TOLERANCE)
      return { replicas: currentReplicas, utilization: first.utilization, averageMilli: first.averageMilli };
    return {
      replicas: Math.ceil(first.ratio * g.ready),
      utilization: first.utilization,
      averageMilli: first.averageMilli,
    };
  }
  if (g.missing.size > 0) {
    for (const name of g.missing) {
      if (first.ratio < 1) metrics.set(name, missingOnScaleDown(name));
      else if (first.ratio > 1) metrics.set(name, 0);
    }
  }
  if (scaleUpWithUnready) for (const name of g.unready) metrics.set(name, 0);
  const next = ratioOf(metrics);
  const keep = { replicas: currentReplicas, utilization: first.utilization, averageMilli: first.averageMilli };
  if (
    Math.abs(1 - next.ratio) <= TOLERANCE ||
    (first.ratio < 1 && next.ratio > 1) ||
    (first.ratio > 1 && next.ratio < 1)
  )
    return keep;
  const replicas = Math.ceil(next.ratio * metrics.size);
  if ((next.ratio < 1 && replicas > currentReplicas) || (next.ratio > 1 && replicas < currentReplicas)) return keep;
  return { replicas, utilization: first.utilization, averageMilli: first.averageMilli };
}

/** a Utilization target: percent of the pods' requests */
export function utilizationReplicas(
  currentReplicas: number,
  targetPercent: number,
  pods: KubeObject[],
  podMetrics: Map<string, PodMetric>,
  resource: string,
): Proposal {
  const requests = podRequests(pods, resource);
  const fallback = Math.max(100, targetPercent);
  return replicasFor(
    currentReplicas,
    pods,
    podMetrics,
    resource,
    utilizationRatio(requests, targetPercent),
    (name) => ((requests.get(name) ?? 0) * fallback) / 100,
  );
}

/** an AverageValue target: usage per pod */
export function averageValueReplicas(
  currentReplicas: number,
  targetMilli: number,
  pods: KubeObject[],
  podMetrics: Map<string, PodMetric>,
  resource: string,
): Proposal {
  return replicasFor(currentReplicas, pods, podMetrics, resource, averageRatio(targetMilli), () => targetMilli);
}
