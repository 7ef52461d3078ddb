/**
 * What the scheduler keeps of pods and nodes in its informers (client-go's transforms, as kube-scheduler trims
 * managedFields): only the fields its queue, cache and plugins read. Annotations (kubectl's last-applied
 * configuration), container commands, env and probes, container statuses, node images and addresses are dropped.
 */
import type { ObjectMeta } from '../lib/kube/object.ts';
import type { Container, Node, Pod, PodSpec } from '../lib/kube/types/core-v1.ts';

function leanMeta(m: ObjectMeta): ObjectMeta {
  return {
    name: m.name,
    namespace: m.namespace,
    uid: m.uid,
    resourceVersion: m.resourceVersion,
    creationTimestamp: m.creationTimestamp,
    deletionTimestamp: m.deletionTimestamp,
    labels: m.labels,
    ownerReferences: m.ownerReferences,
  };
}

function leanContainer(c: Container): Container {
  return { name: c.name, resources: c.resources, ports: c.ports, restartPolicy: c.restartPolicy };
}

export function schedulerPodView(p: Pod): Pod {
  const spec: Partial<PodSpec> = p.spec ?? {};
  return {
    apiVersion: p.apiVersion,
    kind: p.kind,
    metadata: leanMeta(p.metadata),
    spec: {
      nodeName: spec.nodeName,
      schedulerName: spec.schedulerName,
      priority: spec.priority,
      priorityClassName: spec.priorityClassName,
      preemptionPolicy: spec.preemptionPolicy,
      containers: (spec.containers ?? []).map(leanContainer),
      initContainers: spec.initContainers?.map(leanContainer),
      overhead: spec.overhead,
      nodeSelector: spec.nodeSelector,
      affinity: spec.affinity,
      tolerations: spec.tolerations,
      topologySpreadConstraints: spec.topologySpreadConstraints,
    },
    status: {
      phase: p.status?.phase,
      conditions: p.status?.conditions,
      nominatedNodeName: p.status?.nominatedNodeName,
    },
  };
}

export function schedulerNodeView(n: Node): Node {
  const st = n.status ?? {};
  return {
    apiVersion: n.apiVersion,
    kind: n.kind,
    metadata: leanMeta(n.metadata),
    spec: { taints: n.spec?.taints, unschedulable: n.spec?.unschedulable },
    status: {
      allocatable: st.allocatable,
      capacity: st.allocatable ? undefined : st.capacity,
      conditions: st.conditions,
    },
  };
}
