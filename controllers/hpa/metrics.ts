/**
 * The resource metrics API (metrics.k8s.io/v1beta1) as the HPA controller reads it: PodMetrics of the target's
 * pods, listed by the target's selector (the metrics carry their pod's labels), summed over containers.
 */
import type { ApiClient } from '../../lib/kube/api.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import type { LabelSelector } from '../../lib/selectors.ts';
import { milliValue, parseQuantity } from '../../lib/kube/quantity.ts';

import { PodMetrics as PodMetricsResource } from '../../lib/kube/resources.ts';

export { PodMetricsResource };
export { NodeMetrics as NodeMetricsResource } from '../../lib/kube/resources.ts';

export interface PodMetric {
  /** usage in milli-units (millicores, milli-bytes) summed over the pod's containers */
  milli: number;
  timestamp: number;
  windowMs: number;
}

/** a quantity in milli-units as a number ("250m" -> 250, "1Gi" -> 1073741824000); NaN when malformed */
export function milli(q: unknown): number {
  if (q === undefined || q === null) return NaN;
  try {
    return Number(milliValue(parseQuantity(q as string | number)));
  } catch {
    return NaN;
  }
}

function parseWindowMs(w: unknown): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(String(w ?? ''));
  if (!m) return 30_000;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

/** usage of one resource per pod name, from PodMetrics objects (pods whose metrics lack the resource are left out) */
export function podUsage(items: KubeObject[], resource: string, selector: LabelSelector): Map<string, PodMetric> {
  const out = new Map<string, PodMetric>();
  for (const m of items) {
    if (!selector.matches(m.metadata.labels)) continue;
    let sum = 0;
    let seen = false;
    for (const c of (m.containers as { usage?: Record<string, unknown> }[] | undefined) ?? []) {
      const v = milli(c?.usage?.[resource]);
      if (Number.isNaN(v)) continue;
      sum += v;
      seen = true;
    }
    if (!seen) continue;
    out.set(m.metadata.name!, {
      milli: sum,
      timestamp: Date.parse(m.timestamp ?? '') || 0,
      windowMs: parseWindowMs(m.window),
    });
  }
  return out;
}

/** the PodMetrics of a namespace selected by the selector; errors say the metrics API could not be read */
export async function listPodMetrics(
  client: ApiClient,
  namespace: string,
  selector: LabelSelector,
): Promise<KubeObject[]> {
  try {
    const list = await client.list(PodMetricsResource, { namespace, labelSelector: selector.toString() });
    return list.items;
  } catch (e) {
    throw new Error(`unable to fetch metrics from resource metrics API: ${(e as Error).message}`, { cause: e });
  }
}
