/**
 * One served resource as the REST layer sees it: its discovery info, its REST strategy (which holds the type's
 * defaults, validation and selectable fields), its storage key prefix and its watch cache.
 */
import type { ResourceInfo } from '../api/resource-info.ts';
import type { FieldError } from '../api/field-error.ts';
import type { ResourceCache } from '../watchcache/cache.ts';
import type { StorageView } from '../api/strategy.ts';
import type { RestStrategy } from './strategy.ts';
import type { Subresource } from './subresource.ts';

/** the type-specific behaviour (apiserver/api strategies), which a REST strategy builds on */
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
  /** the resource's REST behaviour: prepare, validate, delete, convert (registry/) */
  strategy: RestStrategy;
  /** storage key prefix, ending in '/': /registry/pods/ */
  prefix: string;
  cache: ResourceCache;
  /** field selector keys supported for this type */
  selectable: Set<string>;
  /** set when the resource is stored as another one (its prefix and watch cache are that one's) */
  view?: StorageView;
  /** the handlers of its subresources, by name */
  subresources: ReadonlyMap<string, Subresource>;
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
