/**
 * Taint-based eviction: how long a pod may stay on a node with NoExecute taints, from its tolerations.
 */
import type { KubeObject } from '../../lib/kube/object.ts';
import type { Taint } from './health.ts';

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  if (!t.key) return false; // an empty key needs Exists
  return (t.value ?? '') === (taint.value ?? '');
}

/**
 * How long the pod tolerates the taints, in ms: 0 when one taint is not tolerated at all, Infinity when every taint
 * is tolerated forever, else the least tolerationSeconds among the tolerations that match.
 */
export function tolerationMs(pod: KubeObject, taints: Taint[]): number {
  const tolerations: Toleration[] = pod.spec?.tolerations ?? [];
  let least = Infinity;
  for (const taint of taints) {
    const matching = tolerations.filter((t) => tolerates(t, taint));
    if (matching.length === 0) return 0;
    for (const t of matching) {
      if (typeof t.tolerationSeconds === 'number') least = Math.min(least, Math.max(0, t.tolerationSeconds) * 1000);
    }
  }
  return least;
}

export function noExecuteTaints(node: KubeObject | undefined): Taint[] {
  return ((node?.spec?.taints ?? []) as Taint[]).filter((t) => t.effect === 'NoExecute');
}
