/** Nodes, pods and snapshots for the scheduler's tests. */
import type { Node, Pod, PodSpec } from '../../lib/kube/types/core-v1.ts';
import { SchedulerCache } from '../cache.ts';
import type { NodeInfo } from '../framework/node-info.ts';

export interface NodeShape {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  unschedulable?: boolean;
}

export function makeNode(name: string, s: NodeShape = {}): Node {
  const allocatable = { cpu: s.cpu ?? '4', memory: s.memory ?? '32Gi', pods: s.pods ?? '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...s.labels } },
    spec: { ...(s.taints ? { taints: s.taints } : {}), ...(s.unschedulable ? { unschedulable: true } : {}) },
    status: { capacity: allocatable, allocatable },
  };
}

export interface PodShape {
  cpu?: string;
  memory?: string;
  labels?: Record<string, string>;
  node?: string;
  priority?: number;
  owner?: string;
  /** more of the spec, as a test writes it (not checked against PodSpec) */
  spec?: Record<string, unknown>;
}

export function makePod(name: string, s: PodShape = {}): Pod {
  const requests: Record<string, string> = {};
  if (s.cpu) requests.cpu = s.cpu;
  if (s.memory) requests.memory = s.memory;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      labels: s.labels,
      ...(s.owner
        ? {
            ownerReferences: [
              { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: s.owner, uid: `rs-${s.owner}`, controller: true },
            ],
          }
        : {}),
    },
    spec: {
      containers: [{ name: 'c', image: 'app', resources: { requests } }],
      ...(s.node ? { nodeName: s.node } : {}),
      ...(s.priority !== undefined ? { priority: s.priority } : {}),
      ...(s.spec as Partial<PodSpec> | undefined),
    },
    status: { phase: 'Pending' },
  };
}

export function snapshotOf(nodes: Node[], pods: Pod[] = []): SchedulerCache {
  return SchedulerCache.fromObjects(nodes, pods);
}

export function nodeInfo(node: Node, pods: Pod[] = []): NodeInfo {
  return snapshotOf([node], pods).node(node.metadata.name!)!;
}
