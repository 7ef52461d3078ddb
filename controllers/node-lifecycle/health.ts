/**
 * How a node's health is judged and written: its last heartbeat (the later of its Lease's renewTime and its Ready
 * condition's lastHeartbeatTime), the conditions a silent node gets, and the taints that follow its Ready status.
 */
import type { KubeObject } from '../../lib/kube/object.ts';

export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
/** the conditions a silent node has set to Unknown */
export const MONITORED_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'] as const;

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  timeAdded?: string;
}

export function nodeCondition(node: KubeObject, type: string): any | undefined {
  return (node.status?.conditions as any[] | undefined)?.find((c) => c.type === type);
}

function ms(t: string | undefined): number {
  const v = t ? Date.parse(t) : NaN;
  return Number.isNaN(v) ? 0 : v;
}

/** the last sign of life of a node in ms since the epoch (0 when it never gave one) */
export function lastHeartbeat(node: KubeObject, lease: KubeObject | undefined): number {
  return Math.max(ms(lease?.spec?.renewTime), ms(nodeCondition(node, 'Ready')?.lastHeartbeatTime));
}

/**
 * The node's conditions with the monitored ones set to Unknown (those already Unknown are kept as they are),
 * or undefined when there is nothing to change.
 */
export function unknownConditions(node: KubeObject, nowIso: string): any[] | undefined {
  const conditions: any[] = [...((node.status?.conditions as any[] | undefined) ?? [])];
  let changed = false;
  for (const type of MONITORED_CONDITIONS) {
    const i = conditions.findIndex((c) => c.type === type);
    if (i < 0) {
      conditions.push({ type, status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastHeartbeatTime: nowIso, lastTransitionTime: nowIso });
      changed = true;
    } else if (conditions[i].status !== 'Unknown') {
      conditions[i] = { ...conditions[i], status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: nowIso };
      changed = true;
    }
  }
  return changed ? conditions : undefined;
}

/** the taint key a Ready status calls for: unreachable for Unknown, not-ready for False, none for True */
export function taintKeyForReady(status: string | undefined): string | undefined {
  if (status === 'True') return undefined;
  if (status === 'False') return TAINT_NOT_READY;
  return TAINT_UNREACHABLE;
}

/**
 * The node's taints with the health taints made to match `key` (NoExecute with timeAdded, and NoSchedule),
 * keeping every other taint and the timeAdded of a health taint already there; undefined when nothing changes.
 */
export function reconcileHealthTaints(current: Taint[], key: string | undefined, nowIso: string): Taint[] | undefined {
  const isHealth = (t: Taint) => (t.key === TAINT_UNREACHABLE || t.key === TAINT_NOT_READY) && (t.effect === 'NoExecute' || t.effect === 'NoSchedule');
  const keep = current.filter((t) => !isHealth(t) || t.key === key);
  const out = [...keep];
  if (key) {
    if (!keep.some((t) => t.key === key && t.effect === 'NoExecute')) out.push({ key, effect: 'NoExecute', timeAdded: nowIso });
    if (!keep.some((t) => t.key === key && t.effect === 'NoSchedule')) out.push({ key, effect: 'NoSchedule' });
  }
  return out.length === current.length && keep.length === current.length ? undefined : out;
}
