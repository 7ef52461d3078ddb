/** The Node and Lease objects a simulated kubelet registers and keeps fresh. */
import type { KubeObject } from '../../lib/kube/object.ts';
import type { Lease } from '../../lib/kube/types/coordination-v1.ts';
import type { Node, NodeCondition } from '../../lib/kube/types/core-v1.ts';
import { microTime, rfc3339 } from '../../lib/time.ts';

export interface NodeShape {
  name: string;
  address: string;
  cpu: string;
  memory: string;
  pods: number;
  labels: Record<string, string>;
}

/** the seconds a node's Lease is valid for, as the kubelet sets it */
export const NODE_LEASE_DURATION_SECONDS = 40;
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const KUBELET_VERSION = 'v1.33.0-sim';

export function nodeConditions(now: string, since: Record<string, string | undefined> = {}): NodeCondition[] {
  const c = (type: string, status: string, reason: string, message: string): NodeCondition => ({
    type,
    status,
    lastHeartbeatTime: now,
    lastTransitionTime: since[type] ?? now,
    reason,
    message,
  });
  return [
    c('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    c('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    c('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    c('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
  ];
}

export function nodeObject(shape: NodeShape, now: Date): Node {
  const resources = { cpu: shape.cpu, memory: shape.memory, pods: String(shape.pods), 'ephemeral-storage': '100Gi' };
  const ts = rfc3339(now);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: shape.name,
      labels: {
        'kubernetes.io/hostname': shape.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': 'amd64',
        type: 'sim',
        ...shape.labels,
      },
      annotations: { 'skiff.dev/simulated': 'true' },
    },
    spec: {},
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: nodeConditions(ts),
      addresses: [
        { type: 'InternalIP', address: shape.address },
        { type: 'Hostname', address: shape.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: shape.name,
        systemUUID: shape.name,
        bootID: shape.name,
        kernelVersion: 'sim',
        osImage: 'skiff simulated node',
        containerRuntimeVersion: 'sim://1.0.0',
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
      images: [],
    },
  };
}

export function leaseObject(node: KubeObject<unknown, unknown>, now: Date): Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: node.metadata.name,
      namespace: NODE_LEASE_NAMESPACE,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node.metadata.name!, uid: node.metadata.uid! }],
    },
    spec: {
      holderIdentity: node.metadata.name,
      leaseDurationSeconds: NODE_LEASE_DURATION_SECONDS,
      renewTime: microTime(now),
    },
  };
}
