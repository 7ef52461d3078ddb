/** Which pods a ReplicaSet gives up first when it scales down: the least valuable (Kubernetes' ActivePods order). */
import type { KubeObject } from '../../lib/kube/object.ts';
import { isPodReady, podCondition } from '../../lib/kube/pods.ts';

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function restarts(p: KubeObject): number {
  let n = 0;
  for (const c of p.status?.containerStatuses ?? []) n = Math.max(n, c.restartCount ?? 0);
  return n;
}

function readySince(p: KubeObject): number {
  const t = Date.parse(podCondition(p, 'Ready')?.lastTransitionTime ?? '');
  return Number.isNaN(t) ? 0 : t;
}

/** negative when a is less valuable than b (deleted first) */
export function lessValuableFirst(a: KubeObject, b: KubeObject): number {
  const assignedA = a.spec?.nodeName ? 1 : 0;
  const assignedB = b.spec?.nodeName ? 1 : 0;
  if (assignedA !== assignedB) return assignedA - assignedB;
  const phaseA = PHASE_RANK[a.status?.phase ?? 'Pending'] ?? 0;
  const phaseB = PHASE_RANK[b.status?.phase ?? 'Pending'] ?? 0;
  if (phaseA !== phaseB) return phaseA - phaseB;
  const readyA = isPodReady(a) ? 1 : 0;
  const readyB = isPodReady(b) ? 1 : 0;
  if (readyA !== readyB) return readyA - readyB;
  const costA = Number(a.metadata.annotations?.['controller.kubernetes.io/pod-deletion-cost'] ?? 0) || 0;
  const costB = Number(b.metadata.annotations?.['controller.kubernetes.io/pod-deletion-cost'] ?? 0) || 0;
  if (costA !== costB) return costA - costB;
  if (readyA && readyB) {
    const sa = readySince(a);
    const sb = readySince(b);
    if (sa !== sb) return sb - sa; // ready for less time first
  }
  const ra = restarts(a);
  const rb = restarts(b);
  if (ra !== rb) return rb - ra; // more restarts first
  const ca = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const cb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  return cb - ca; // newer first
}
