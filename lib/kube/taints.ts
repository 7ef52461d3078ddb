/**
 * Taints and tolerations, matched as Kubernetes matches them (k8s.io/api core/v1 Toleration.ToleratesTaint and
 * component-helpers scheduling/corev1): the one implementation behind the scheduler's TaintToleration and
 * NodeUnschedulable plugins, the DaemonSet controller's placement and the node-lifecycle controller's taint eviction.
 */
export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

export interface Taint {
  key: string;
  value?: string;
  /** a TaintEffect (as it comes over the wire) */
  effect: string;
  timeAdded?: string;
}

export interface Toleration {
  key?: string;
  /** Exists or Equal (the default); any other operator tolerates nothing */
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/**
 * The toleration tolerates the taint: an empty effect matches every effect and an empty key every key; Exists
 * matches every value, Equal (or no operator) the same value. Any other operator tolerates nothing. (Validation
 * requires Exists when the key is empty.)
 */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

/** some toleration of the list tolerates the taint */
export function tolerationsTolerateTaint(tolerations: readonly Toleration[] | undefined, taint: Taint): boolean {
  if (!tolerations) return false;
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

/** the first taint the filter includes (every taint without one) that no toleration tolerates, if any */
export function findMatchingUntoleratedTaint(
  taints: readonly Taint[] | undefined,
  tolerations: readonly Toleration[] | undefined,
  include?: (t: Taint) => boolean,
): Taint | undefined {
  for (const taint of taints ?? []) {
    if (include && !include(taint)) continue;
    if (!tolerationsTolerateTaint(tolerations, taint)) return taint;
  }
  return undefined;
}

/** NoSchedule and NoExecute: the effects that keep a pod off a node */
export function doNotScheduleTaint(t: Taint): boolean {
  return t.effect === 'NoSchedule' || t.effect === 'NoExecute';
}

/** the tolerations that count against PreferNoSchedule taints: those with that effect or none */
export function preferNoScheduleTolerations(tolerations: readonly Toleration[] | undefined): Toleration[] {
  return (tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
}

/**
 * The PreferNoSchedule taints that none of the tolerations tolerates, counted (what the scheduler scores against);
 * `tolerations` are meant to be preferNoScheduleTolerations' answer, computed once per pod.
 */
export function countIntolerableTaintsPreferNoSchedule(
  taints: readonly Taint[] | undefined,
  tolerations: readonly Toleration[],
): number {
  let count = 0;
  for (const t of taints ?? []) {
    if (t.effect === 'PreferNoSchedule' && !tolerationsTolerateTaint(tolerations, t)) count++;
  }
  return count;
}
