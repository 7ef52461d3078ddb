/**
 * Taint-based eviction: how long a pod may stay on a node with NoExecute taints, from its tolerations.
 */
import type { KubeObject } from '../../lib/kube/object.ts';
import { toleratesTaint, type Taint, type Toleration } from '../../lib/kube/taints.ts';

/**
 * How long the pod tolerates the taints, in ms: 0 when one taint is not tolerated at all; else, among the first
 * toleration matching each taint, the least tolerationSeconds (0 for a zero or negative one), Infinity when none of
 * them has tolerationSeconds.
 */
export function tolerationMs(pod: KubeObject, taints: Taint[]): number {
  const tolerations: Toleration[] = pod.spec?.tolerations ?? [];
  let least = Infinity;
  for (const taint of taints) {
    const first = tolerations.find((t) => toleratesTaint(t, taint));
    if (!first) return 0;
    if (typeof first.tolerationSeconds === 'number') {
      if (first.tolerationSeconds <= 0) return 0;
      least = Math.min(least, first.tolerationSeconds * 1000);
    }
  }
  return least;
}

export function noExecuteTaints(node: KubeObject | undefined): Taint[] {
  return ((node?.spec?.taints ?? []) as Taint[]).filter((t) => t.effect === 'NoExecute');
}
