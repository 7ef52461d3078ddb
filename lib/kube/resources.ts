/**
 * The API resources the components of skiff read and write, as the client addresses them.
 * A component names a resource by one of these constants, never by a hand-built URL. Each carries the type of its
 * objects, so that the client and informers given `Deployments` answer with `Deployment`s.
 */
import type { KubeObject } from './object.ts';
import type { ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet } from './types/apps-v1.ts';
import type { SelfSubjectReview, TokenReview } from './types/authentication-v1.ts';
import type {
  LocalSubjectAccessReview,
  SelfSubjectAccessReview,
  SelfSubjectRulesReview,
  SubjectAccessReview,
} from './types/authorization-v1.ts';
import type { HorizontalPodAutoscaler as HorizontalPodAutoscalerV1 } from './types/autoscaling-v1.ts';
import type { HorizontalPodAutoscaler } from './types/autoscaling-v2.ts';
import type { CronJob, Job } from './types/batch-v1.ts';
import type { Lease } from './types/coordination-v1.ts';
import type {
  ConfigMap,
  Endpoints,
  Event,
  Namespace,
  Node,
  PersistentVolumeClaim,
  Pod,
  PodTemplate,
  ReplicationController,
  Secret,
  Service,
  ServiceAccount,
} from './types/core-v1.ts';
import type { EndpointSlice } from './types/discovery-v1.ts';
import type { Event as EventV1 } from './types/events-v1.ts';
import type { NodeMetrics as NodeMetricsObject, PodMetrics as PodMetricsObject } from './types/metrics-v1beta1.ts';

/** the key of the object type a Resource carries: a type only, never a value */
declare const objectType: unique symbol;

export interface Resource<T extends KubeObject = KubeObject> {
  group: string;
  version: string;
  /** plural, lower case: "pods" */
  resource: string;
  kind: string;
  namespaced: boolean;
  /** the type of the resource's objects, for the compiler only (never set) */
  readonly [objectType]?: T;
}

function res<T extends KubeObject>(
  group: string,
  version: string,
  resource: string,
  kind: string,
  namespaced = true,
): Resource<T> {
  return { group, version, resource, kind, namespaced };
}

export const Pods = res<Pod>('', 'v1', 'pods', 'Pod');
export const Nodes = res<Node>('', 'v1', 'nodes', 'Node', false);
export const Namespaces = res<Namespace>('', 'v1', 'namespaces', 'Namespace', false);
export const Services = res<Service>('', 'v1', 'services', 'Service');
export const EndpointsR = res<Endpoints>('', 'v1', 'endpoints', 'Endpoints');
export const ConfigMaps = res<ConfigMap>('', 'v1', 'configmaps', 'ConfigMap');
export const Secrets = res<Secret>('', 'v1', 'secrets', 'Secret');
export const ServiceAccounts = res<ServiceAccount>('', 'v1', 'serviceaccounts', 'ServiceAccount');
export const Events = res<Event>('', 'v1', 'events', 'Event');
export const PodTemplates = res<PodTemplate>('', 'v1', 'podtemplates', 'PodTemplate');
export const ReplicationControllers = res<ReplicationController>(
  '',
  'v1',
  'replicationcontrollers',
  'ReplicationController',
);
export const PersistentVolumeClaims = res<PersistentVolumeClaim>(
  '',
  'v1',
  'persistentvolumeclaims',
  'PersistentVolumeClaim',
);
export const Deployments = res<Deployment>('apps', 'v1', 'deployments', 'Deployment');
export const ReplicaSets = res<ReplicaSet>('apps', 'v1', 'replicasets', 'ReplicaSet');
export const DaemonSets = res<DaemonSet>('apps', 'v1', 'daemonsets', 'DaemonSet');
export const StatefulSets = res<StatefulSet>('apps', 'v1', 'statefulsets', 'StatefulSet');
export const ControllerRevisions = res<ControllerRevision>('apps', 'v1', 'controllerrevisions', 'ControllerRevision');
export const Leases = res<Lease>('coordination.k8s.io', 'v1', 'leases', 'Lease');
export const EndpointSlices = res<EndpointSlice>('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice');
export const EventsV1 = res<EventV1>('events.k8s.io', 'v1', 'events', 'Event');
export const HorizontalPodAutoscalers = res<HorizontalPodAutoscaler>(
  'autoscaling',
  'v2',
  'horizontalpodautoscalers',
  'HorizontalPodAutoscaler',
);
export const HorizontalPodAutoscalersV1 = res<HorizontalPodAutoscalerV1>(
  'autoscaling',
  'v1',
  'horizontalpodautoscalers',
  'HorizontalPodAutoscaler',
);
export const Jobs = res<Job>('batch', 'v1', 'jobs', 'Job');
export const CronJobs = res<CronJob>('batch', 'v1', 'cronjobs', 'CronJob');
/** not in the API model yet: its objects are untyped */
export const PodDisruptionBudgets = res<KubeObject>('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget');
export const PodMetrics = res<PodMetricsObject>('metrics.k8s.io', 'v1beta1', 'pods', 'PodMetrics');
export const NodeMetrics = res<NodeMetricsObject>('metrics.k8s.io', 'v1beta1', 'nodes', 'NodeMetrics', false);

// reviews: created and answered, never stored
export const TokenReviews = res<TokenReview>('authentication.k8s.io', 'v1', 'tokenreviews', 'TokenReview', false);
export const SelfSubjectReviews = res<SelfSubjectReview>(
  'authentication.k8s.io',
  'v1',
  'selfsubjectreviews',
  'SelfSubjectReview',
  false,
);
export const SubjectAccessReviews = res<SubjectAccessReview>(
  'authorization.k8s.io',
  'v1',
  'subjectaccessreviews',
  'SubjectAccessReview',
  false,
);
export const LocalSubjectAccessReviews = res<LocalSubjectAccessReview>(
  'authorization.k8s.io',
  'v1',
  'localsubjectaccessreviews',
  'LocalSubjectAccessReview',
);
export const SelfSubjectAccessReviews = res<SelfSubjectAccessReview>(
  'authorization.k8s.io',
  'v1',
  'selfsubjectaccessreviews',
  'SelfSubjectAccessReview',
  false,
);
export const SelfSubjectRulesReviews = res<SelfSubjectRulesReview>(
  'authorization.k8s.io',
  'v1',
  'selfsubjectrulesreviews',
  'SelfSubjectRulesReview',
  false,
);

/**
 * every resource skiff's API server serves with objects of its own, for what walks all of them (garbage collection,
 * namespace deletion); Jobs, CronJobs, PersistentVolumeClaims and PodDisruptionBudgets are named above for clients but
 * not served yet, events.k8s.io Events and autoscaling/v1 HorizontalPodAutoscalers are other versions of objects
 * listed here, and reviews are never stored
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
