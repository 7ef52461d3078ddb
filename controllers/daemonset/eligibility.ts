/**
 * Which nodes a DaemonSet's pod belongs on, by Kubernetes' rules (NodeShouldRunDaemonPod): the template's node name
 * and node selector, its required node affinity, and the node's NoSchedule/NoExecute taints against the template's
 * tolerations plus the ones every daemon pod gets. A node whose only untolerated taints are NoSchedule keeps the
 * daemon pods it already has.
 */
import type { KubeObject } from '../../lib/kube/object.ts';
import { requiredNodeAffinityMatches, NODE_NAME_FIELD } from '../../lib/kube/node-affinity.ts';
import {
  doNotScheduleTaint,
  findMatchingUntoleratedTaint,
  type Taint,
  type Toleration,
} from '../../lib/kube/taints.ts';

/** the tolerations the DaemonSet controller gives every pod it creates */
export function daemonPodTolerations(hostNetwork: boolean): Toleration[] {
  const t: Toleration[] = [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (hostNetwork) t.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
  return t;
}

/** the template's tolerations with the daemon pod ones added (those it already has for a key and effect are kept) */
export function withDaemonTolerations(tolerations: Toleration[] | undefined, hostNetwork: boolean): Toleration[] {
  const out = [...(tolerations ?? [])];
  for (const d of daemonPodTolerations(hostNetwork)) {
    if (!out.some((t) => t.key === d.key && t.effect === d.effect)) out.push(d);
  }
  return out;
}

export interface Placement {
  /** a daemon pod should run there */
  shouldRun: boolean;
  /** a daemon pod already there may stay */
  shouldContinueRunning: boolean;
}

export function nodeShouldRunDaemonPod(ds: KubeObject, node: KubeObject): Placement {
  const spec = ds.spec?.template?.spec ?? {};
  if (spec.nodeName && spec.nodeName !== node.metadata.name) return { shouldRun: false, shouldContinueRunning: false };
  if (!requiredNodeAffinityMatches(spec, node)) return { shouldRun: false, shouldContinueRunning: false };
  const taints: Taint[] = node.spec?.taints ?? [];
  const tolerations = withDaemonTolerations(spec.tolerations, !!spec.hostNetwork);
  if (findMatchingUntoleratedTaint(taints, tolerations, doNotScheduleTaint)) {
    const noExecute = findMatchingUntoleratedTaint(taints, tolerations, (t) => t.effect === 'NoExecute');
    return { shouldRun: false, shouldContinueRunning: !noExecute };
  }
  return { shouldRun: true, shouldContinueRunning: true };
}

/** the node a daemon pod is for: its spec.nodeName, or before scheduling the one its node affinity names */
export function targetNodeName(pod: KubeObject): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const f of term?.matchFields ?? []) {
      if (f.key === NODE_NAME_FIELD && f.operator === 'In' && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

/** the pod's required node affinity pinned to one node (matchFields metadata.name), as daemon pods are created */
export function pinToNode(podSpec: any, nodeName: string): any {
  const affinity = structuredClone(podSpec.affinity ?? {});
  affinity.nodeAffinity = {
    ...(affinity.nodeAffinity ?? {}),
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [{ matchFields: [{ key: NODE_NAME_FIELD, operator: 'In', values: [nodeName] }] }],
    },
  };
  return affinity;
}
