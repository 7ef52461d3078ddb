/**
 * The resources skiff serves, with the names, scopes, verbs and subresources Kubernetes gives them.
 * Discovery, OpenAPI, routing and storage are all driven from this one list.
 */
import { ALL_VERBS, type ResourceInfo } from './resource-info.ts';

const NO_DELETECOLLECTION = ALL_VERBS.filter((v) => v !== 'deletecollection');

function r(
  group: string,
  version: string,
  resource: string,
  kind: string,
  defPkg: string,
  opts: Partial<
    Pick<
      ResourceInfo,
      'namespaced' | 'shortNames' | 'categories' | 'verbs' | 'subresources' | 'singular' | 'definition'
    >
  > = {},
): ResourceInfo {
  return {
    group,
    version,
    resource,
    singular: opts.singular ?? kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced: opts.namespaced ?? true,
    shortNames: opts.shortNames ?? [],
    categories: opts.categories ?? [],
    verbs: opts.verbs ?? ALL_VERBS,
    subresources: opts.subresources ?? [],
    definition: opts.definition ?? `io.k8s.api.${defPkg}.${version}.${kind}`,
  };
}

export const RESOURCES: readonly ResourceInfo[] = [
  r('', 'v1', 'namespaces', 'Namespace', 'core', {
    namespaced: false,
    shortNames: ['ns'],
    verbs: NO_DELETECOLLECTION,
    subresources: ['status', 'finalize'],
  }),
  r('', 'v1', 'pods', 'Pod', 'core', {
    shortNames: ['po'],
    categories: ['all'],
    subresources: ['status', 'binding', 'log', 'exec', 'attach', 'portforward', 'eviction'],
  }),
  r('', 'v1', 'nodes', 'Node', 'core', { namespaced: false, shortNames: ['no'], subresources: ['status'] }),
  r('', 'v1', 'services', 'Service', 'core', {
    shortNames: ['svc'],
    categories: ['all'],
    subresources: ['status'],
  }),
  r('', 'v1', 'endpoints', 'Endpoints', 'core', { shortNames: ['ep'], singular: 'endpoints' }),
  r('', 'v1', 'configmaps', 'ConfigMap', 'core', { shortNames: ['cm'] }),
  r('', 'v1', 'secrets', 'Secret', 'core'),
  r('', 'v1', 'serviceaccounts', 'ServiceAccount', 'core', { shortNames: ['sa'], subresources: ['token'] }),
  r('', 'v1', 'events', 'Event', 'core', { shortNames: ['ev'] }),
  r('', 'v1', 'podtemplates', 'PodTemplate', 'core'),
  r('', 'v1', 'replicationcontrollers', 'ReplicationController', 'core', {
    shortNames: ['rc'],
    categories: ['all'],
    subresources: ['status', 'scale'],
  }),
  r('apps', 'v1', 'deployments', 'Deployment', 'apps', {
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: ['status', 'scale'],
  }),
  r('apps', 'v1', 'replicasets', 'ReplicaSet', 'apps', {
    shortNames: ['rs'],
    categories: ['all'],
    subresources: ['status', 'scale'],
  }),
  r('apps', 'v1', 'daemonsets', 'DaemonSet', 'apps', {
    shortNames: ['ds'],
    categories: ['all'],
    subresources: ['status'],
  }),
  r('apps', 'v1', 'statefulsets', 'StatefulSet', 'apps', {
    shortNames: ['sts'],
    categories: ['all'],
    subresources: ['status', 'scale'],
  }),
  r('apps', 'v1', 'controllerrevisions', 'ControllerRevision', 'apps'),
  r('coordination.k8s.io', 'v1', 'leases', 'Lease', 'coordination'),
  r('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice', 'discovery'),
  r('events.k8s.io', 'v1', 'events', 'Event', 'events', { shortNames: ['ev'] }),
  r('autoscaling', 'v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler', 'autoscaling', {
    shortNames: ['hpa'],
    categories: ['all'],
    subresources: ['status'],
  }),
  // stored as autoscaling/v2 (the preferred version, listed first); see api/autoscaling/hpa-v1.ts
  r('autoscaling', 'v1', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler', 'autoscaling', {
    shortNames: ['hpa'],
    categories: ['all'],
    subresources: ['status'],
  }),
  // reviews: created and answered, never stored (kubectl auth whoami, kubectl auth can-i, token checks by others)
  r('authentication.k8s.io', 'v1', 'selfsubjectreviews', 'SelfSubjectReview', 'authentication', {
    namespaced: false,
    verbs: ['create'],
  }),
  r('authentication.k8s.io', 'v1', 'tokenreviews', 'TokenReview', 'authentication', {
    namespaced: false,
    verbs: ['create'],
  }),
  r('authorization.k8s.io', 'v1', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview', 'authorization', {
    namespaced: false,
    verbs: ['create'],
  }),
  r('authorization.k8s.io', 'v1', 'selfsubjectrulesreviews', 'SelfSubjectRulesReview', 'authorization', {
    namespaced: false,
    verbs: ['create'],
  }),
  r('authorization.k8s.io', 'v1', 'subjectaccessreviews', 'SubjectAccessReview', 'authorization', {
    namespaced: false,
    verbs: ['create'],
  }),
  r('authorization.k8s.io', 'v1', 'localsubjectaccessreviews', 'LocalSubjectAccessReview', 'authorization', {
    verbs: ['create'],
  }),
  // the resource metrics API (kubectl top, the HPA): written by the node agents, read by anyone
  r('metrics.k8s.io', 'v1beta1', 'pods', 'PodMetrics', 'metrics', {
    singular: '',
    definition: 'io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics',
  }),
  r('metrics.k8s.io', 'v1beta1', 'nodes', 'NodeMetrics', 'metrics', {
    namespaced: false,
    singular: '',
    definition: 'io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics',
  }),
];

const byPath = new Map<string, ResourceInfo>();
for (const info of RESOURCES) byPath.set(`${info.group}/${info.version}/${info.resource}`, info);

/** look up a served resource by group ('' for core), version and plural name */
export function lookupResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  return byPath.get(`${group}/${version}/${resource}`);
}
