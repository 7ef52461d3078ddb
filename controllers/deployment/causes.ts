/**
 * Why a rollout is not progressing, read from the new ReplicaSet's pods: container waiting reasons (ImagePullBackOff,
 * CrashLoopBackOff, ...) and the scheduler's Unschedulable message, counted, for the Progressing condition.
 */
import type { KubeObject } from '../../lib/kube/object.ts';

const BENIGN = new Set(['ContainerCreating', 'PodInitializing']);

interface PodCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export function stallCauses(pods: KubeObject[]): string | undefined {
  const counts = new Map<string, { n: number; detail: string }>();
  const add = (reason: string, detail: string) => {
    const c = counts.get(reason);
    if (c) c.n++;
    else counts.set(reason, { n: 1, detail });
  };
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    const conditions: PodCondition[] = p.status?.conditions ?? [];
    const sched = conditions.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    if (sched) {
      add(sched.reason ?? 'Unschedulable', sched.message ?? '');
      continue;
    }
    for (const cs of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) {
      const w = cs.state?.waiting;
      if (w?.reason && !BENIGN.has(w.reason)) {
        add(w.reason, w.message ?? '');
        break;
      }
      const t = cs.state?.terminated;
      if (t?.reason && t.reason !== 'Completed') {
        add(t.reason, t.message ?? '');
        break;
      }
    }
  }
  if (!counts.size) return undefined;
  return [...counts]
    .sort((a, b) => b[1].n - a[1].n)
    .map(([reason, { n, detail }]) => `${n} pod(s) ${reason}${detail ? ` (${detail})` : ''}`)
    .join(', ');
}
