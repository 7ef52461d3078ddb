/**
 * How a node's health is written: the conditions a silent node gets, and the taints its conditions call for.
 */
import type { KubeObject } from '../../lib/kube/object.ts';

export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
/** the conditions a silent node has set to Unknown */
export const MONITORED_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'] as const;

export type { Taint } from '../../lib/kube/taints.ts';
import type { Taint } from '../../lib/kube/taints.ts';

export interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

function conditionsOf(node: KubeObject): NodeCondition[] {
  return node.status?.conditions ?? [];
}

export function nodeCondition(node: KubeObject, type: string): NodeCondition | undefined {
  return conditionsOf(node).find((c) => c.type === type);
}

/**
 * The node's conditions with the monitored ones set to Unknown (those already Unknown are kept as they are; missing
 * ones are added, dated from the node's creation), or undefined when there is nothing to change.
 */
export function unknownConditions(node: KubeObject, nowIso: string): NodeCondition[] | undefined {
  const conditions = [...conditionsOf(node)];
  let changed = false;
  for (const type of MONITORED_CONDITIONS) {
    const i = conditions.findIndex((c) => c.type === type);
    if (i < 0) {
      const created = node.metadata.creationTimestamp ?? nowIso;
      conditions.push({
        type,
        status: 'Unknown',
        lastHeartbeatTime: created,
        lastTransitionTime: nowIso,
        reason: 'NodeStatusNeverUpdated',
        message: 'Kubelet never posted node status.',
      });
      changed = true;
    } else if (conditions[i].status !== 'Unknown') {
      conditions[i] = {
        ...conditions[i],
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
        lastTransitionTime: nowIso,
      };
      changed = true;
    }
  }
  return changed ? conditions : undefined;
}

/** the NoExecute taint a Ready status calls for: unreachable for Unknown, not-ready for False, none for True or none */
export function noExecuteKeyForReady(status: string | undefined): string | undefined {
  if (status === 'False') return TAINT_NOT_READY;
  if (status === 'Unknown') return TAINT_UNREACHABLE;
  return undefined;
}

/** NoSchedule taints by condition (TaintNodesByCondition): condition type → status → taint key */
const NO_SCHEDULE_BY_CONDITION: Record<string, Record<string, string>> = {
  Ready: { False: TAINT_NOT_READY, Unknown: TAINT_UNREACHABLE },
  MemoryPressure: { True: 'node.kubernetes.io/memory-pressure' },
  DiskPressure: { True: 'node.kubernetes.io/disk-pressure' },
  PIDPressure: { True: 'node.kubernetes.io/pid-pressure' },
  NetworkUnavailable: { True: 'node.kubernetes.io/network-unavailable' },
};
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
const NO_SCHEDULE_KEYS = new Set([
  ...Object.values(NO_SCHEDULE_BY_CONDITION).flatMap((m) => Object.values(m)),
  TAINT_UNSCHEDULABLE,
]);
const NO_EXECUTE_KEYS = new Set([TAINT_NOT_READY, TAINT_UNREACHABLE]);

/** whether this controller owns a taint: the condition taints it adds and removes */
function managed(t: Taint): boolean {
  return (
    (t.effect === 'NoSchedule' && NO_SCHEDULE_KEYS.has(t.key)) ||
    (t.effect === 'NoExecute' && NO_EXECUTE_KEYS.has(t.key))
  );
}

/** the taints the node's conditions and spec.unschedulable call for */
export function conditionTaints(node: KubeObject): Taint[] {
  const out: Taint[] = [];
  for (const c of conditionsOf(node)) {
    const key = NO_SCHEDULE_BY_CONDITION[c.type]?.[c.status];
    if (key) out.push({ key, effect: 'NoSchedule' });
  }
  if (node.spec?.unschedulable === true) out.push({ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' });
  const noExecute = noExecuteKeyForReady(nodeCondition(node, 'Ready')?.status);
  if (noExecute) out.push({ key: noExecute, effect: 'NoExecute' });
  return out;
}

/**
 * The node's taints made to match `wanted` among the taints this controller owns (new ones dated now, those
 * already there kept as they are), every other taint untouched; undefined when nothing changes.
 */
export function reconcileConditionTaints(current: Taint[], wanted: Taint[], nowIso: string): Taint[] | undefined {
  const same = (a: Taint, b: Taint) => a.key === b.key && a.effect === b.effect;
  const keep = current.filter((t) => !managed(t) || wanted.some((w) => same(w, t)));
  const add = wanted.filter((w) => !current.some((t) => same(w, t))).map((w) => ({ ...w, timeAdded: nowIso }));
  return keep.length === current.length && add.length === 0 ? undefined : [...keep, ...add];
}
