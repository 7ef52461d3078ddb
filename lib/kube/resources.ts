/**
 * The API resources the components of skiff read and write, as the client addresses them.
 * A component names a resource by one of these constants, never by a hand-built URL.
 */
export interface Resource {
  group: string;
  version: string;
  /** plural, lower case: "pods" */
  resource: string;
  kind: string;
  namespaced: boolean;
}

function res(group: string, version: string, resource: string, kind: string, namespaced = true): Resource {
  return { group, version, resource, kind, namespaced };
}

export const Pods = res('', 'v1', 'pods', 'Pod');
export const Nodes = res('', 'v1', 'nodes', 'Node', false);
export const Namespaces = res('', 'v1', 'namespaces', 'Namespace', false);
export const Services = res('', 'v1', 'services', 'Service');
export const EndpointsR = res('', 'v1', 'endpoints', 'Endpoints');
export const ConfigMaps = res('', 'v1', 'configmaps', 'ConfigMap');
export const Secrets = res('', 'v1', 'secrets', 'Secret');
export const ServiceAccounts = res('', 'v1', 'serviceaccounts', 'ServiceAccount');
export const Events = res('', 'v1', 'events', 'Event');
export const PodTemplates = res('', 'v1', 'podtemplates', 'PodTemplate');
export const ReplicationControllers = res('', 'v1', 'replicationcontrollers', 'ReplicationController');
export const Deployments = res('apps', 'v1', 'deployments', 'Deployment');
export const ReplicaSets = res('apps', 'v1', 'replicasets', 'ReplicaSet');
export const DaemonSets = res('apps', 'v1', 'daemonsets', 'DaemonSet');
export const StatefulSets = res('apps', 'v1', 'statefulsets', 'StatefulSet');
export const ControllerRevisions = res('apps', 'v1', 'controllerrevisions', 'ControllerRevision');
export const Leases = res('coordination.k8s.io', 'v1', 'leases', 'Lease');
export const EndpointSlices = res('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice');
export const HorizontalPodAutoscalers = res('autoscaling', 'v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler');
export const Jobs = res('batch', 'v1', 'jobs', 'Job');
export const CronJobs = res('batch', 'v1', 'cronjobs', 'CronJob');
export const PodDisruptionBudgets = res('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget');
export const PodMetrics = res('metrics.k8s.io', 'v1beta1', 'pods', 'PodMetrics');
export const NodeMetrics = res('metrics.k8s.io', 'v1beta1', 'nodes', 'NodeMetrics', false);

/**
 * every resource skiff's API server serves with objects of its own, for what walks all of them (garbage collection,
 * namespace deletion); Jobs, CronJobs and PodDisruptionBudgets are named above for clients but not served yet
 */
export const ALL_RESOURCES: readonly Resource[] = [
  Pods,
  Nodes,
  Namespaces,
  Services,
  EndpointsR,
  ConfigMaps,
  Secrets,
  ServiceAccounts,
  Events,
  PodTemplates,
  ReplicationControllers,
  Deployments,
  ReplicaSets,
  DaemonSets,
  StatefulSets,
  ControllerRevisions,
  Leases,
  EndpointSlices,
  HorizontalPodAutoscalers,
  PodMetrics,
  NodeMetrics,
];

export function apiVersionOf(r: Resource): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** the collection path: /api/v1/namespaces/ns/pods or /apis/apps/v1/deployments */
export function collectionPath(r: Resource, namespace?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return r.namespaced && namespace
    ? `${base}/namespaces/${encodeURIComponent(namespace)}/${r.resource}`
    : `${base}/${r.resource}`;
}

export function objectPath(r: Resource, namespace: string | undefined, name: string, subresource?: string): string {
  return `${collectionPath(r, r.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`;
}

/** a resource by its apiVersion and kind, as ownerReferences and involvedObject name them */
export function resourceForKind(apiVersion: string, kind: string): Resource | undefined {
  return ALL_RESOURCES.find((r) => r.kind === kind && apiVersionOf(r) === apiVersion);
}
