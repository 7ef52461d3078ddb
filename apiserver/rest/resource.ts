/**
 * One served resource as the REST layer sees it: its discovery info, its type strategy (defaults, validation,
 * selectable fields), its storage key prefix and its watch cache.
 */
import type { ResourceInfo } from '../api/resource-info.ts';
import type { FieldError } from '../api/field-error.ts';
import type { ResourceCache } from '../watchcache/cache.ts';
import type { StorageView } from '../api/strategy.ts';

/** the type-specific behaviour (apiserver/api strategies) */
export interface TypeStrategy {
  defaults(obj: any): void;
  validate(obj: any): FieldError[];
  validateUpdate(obj: any, old: any): FieldError[];
  validateStatusUpdate?(obj: any, old: any): FieldError[];
  selectableFields(obj: any): Record<string, string>;
  scaleSelector?(obj: any): unknown;
}

export interface Resource {
  info: ResourceInfo;
  strategy: TypeStrategy;
  /** storage key prefix, ending in '/': /registry/pods/ */
  prefix: string;
  cache: ResourceCache;
  /** field selector keys supported for this type */
  selectable: Set<string>;
  /** metadata.generation is maintained (bumped on spec changes) */
  generation: boolean;
  /** PUT on a missing object creates it */
  createOnUpdate: boolean;
  /** DELETE answers with the object rather than a Status */
  returnDeletedObject: boolean;
  /**
   * metadata fields a status write keeps as they were (besides spec, which it never changes): Kubernetes' status
   * strategies reset a Deployment's labels and a Pod's owner references
   */
  statusKeepsMetadata: string[];
  /** set when the resource is stored as another one (its prefix and watch cache are that one's) */
  view?: StorageView;
}

/** Kubernetes' etcd layout for the resources whose prefix is not simply /registry/<resource>/ */
const PREFIX_OVERRIDES: Record<string, string> = {
  '/nodes': '/registry/minions/',
  '/services': '/registry/services/specs/',
  '/endpoints': '/registry/services/endpoints/',
  // events.k8s.io/v1 Events are stored with core/v1 Events, as core/v1 Events (see StorageView)
  'events.k8s.io/events': '/registry/events/',
  // the resource metrics share their plural names with core pods and nodes
  'metrics.k8s.io/pods': '/registry/metrics.k8s.io/pods/',
  'metrics.k8s.io/nodes': '/registry/metrics.k8s.io/nodes/',
  'apps/controllerrevisions': '/registry/controllerrevisions/',
};

export function storagePrefix(info: ResourceInfo): string {
  return PREFIX_OVERRIDES[`${info.group}/${info.resource}`] ?? `/registry/${info.resource}/`;
}

export function storageKey(r: Resource, namespace: string, name: string): string {
  return r.info.namespaced ? `${r.prefix}${namespace}/${name}` : `${r.prefix}${name}`;
}

export function apiVersionOf(info: ResourceInfo): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

const GENERATION = new Set([
  'apps/deployments',
  'apps/replicasets',
  'apps/daemonsets',
  'apps/statefulsets',
  'autoscaling/horizontalpodautoscalers',
  'batch/jobs',
  'batch/cronjobs',
  '/pods',
  '/podtemplates',
]);
const CREATE_ON_UPDATE = new Set([
  '/endpoints',
  '/events',
  'events.k8s.io/events',
  'coordination.k8s.io/leases',
  'discovery.k8s.io/endpointslices',
]);
const RETURN_DELETED = new Set(['/pods', '/services', '/namespaces', '/nodes']);

const STATUS_KEEPS_METADATA: Record<string, string[]> = {
  'apps/deployments': ['labels'],
  '/pods': ['ownerReferences'],
};

export function resourceTraits(
  info: ResourceInfo,
): Pick<Resource, 'generation' | 'createOnUpdate' | 'returnDeletedObject' | 'statusKeepsMetadata'> {
  const k = `${info.group}/${info.resource}`;
  return {
    generation: GENERATION.has(k),
    createOnUpdate: CREATE_ON_UPDATE.has(k),
    returnDeletedObject: RETURN_DELETED.has(k),
    statusKeepsMetadata: STATUS_KEEPS_METADATA[k] ?? [],
  };
}
