/**
 * The REST strategy of every resource: the generic behaviour with the traits a resource declares (TRAITS), or its
 * own strategy class (STRATEGIES) where it does more. Both are keyed '<group>/<resource>' ('' group for core), or
 * '<group>/<version>/<resource>' for one version.
 */
import type { ServiceAllocations } from '../allocator.ts';
import type { ResourceInfo } from '../api/resource-info.ts';
import { byResource } from '../api/strategies.ts';
import type { TypeStrategy } from '../rest/resource.ts';
import type { RestStrategy, Traits } from '../rest/strategy.ts';
import { NamespaceStrategy } from './core/namespace.ts';
import { NodeStrategy } from './core/node.ts';
import { PodStrategy } from './core/pod.ts';
import { ServiceStrategy } from './core/service.ts';
import { GenericStrategy } from './strategy.ts';

export { GenericStrategy } from './strategy.ts';

/** what strategies need of the server */
export interface StrategyDeps {
  /** ClusterIPs and NodePorts for Services (none: Services get none) */
  serviceAllocations?: ServiceAllocations;
}

const TRAITS: Record<string, Partial<Traits>> = {
  'apps/deployments': { generation: true, statusKeepsMetadata: ['labels'] },
  'apps/replicasets': { generation: true },
  'apps/daemonsets': { generation: true },
  'apps/statefulsets': { generation: true },
  'autoscaling/horizontalpodautoscalers': { generation: true },
  'batch/jobs': { generation: true },
  // batch/v1 Jobs orphan their pods unless told otherwise, for compatibility
  'batch/v1/jobs': { generation: true, defaultPropagation: 'Orphan' },
  'batch/cronjobs': { generation: true },
  '/podtemplates': { generation: true },
  '/endpoints': { createOnUpdate: true },
  // events have no dependents: propagation policies are ignored
  '/events': { createOnUpdate: true, defaultPropagation: 'Unsupported' },
  'events.k8s.io/events': { createOnUpdate: true, defaultPropagation: 'Unsupported' },
  'coordination.k8s.io/leases': { createOnUpdate: true },
  'discovery.k8s.io/endpointslices': { createOnUpdate: true },
};

type StrategyFactory = (info: ResourceInfo, type: TypeStrategy, deps: StrategyDeps) => RestStrategy;

const STRATEGIES: Record<string, StrategyFactory> = {
  '/pods': (info, type) => new PodStrategy(info, type),
  '/namespaces': (info, type) => new NamespaceStrategy(info, type),
  '/nodes': (info, type) => new NodeStrategy(info, type),
  '/services': (info, type, deps) => new ServiceStrategy(info, type, deps.serviceAllocations),
};

/** the REST strategy of a resource over its type strategy */
export function restStrategy(info: ResourceInfo, type: TypeStrategy, deps: StrategyDeps = {}): RestStrategy {
  const make = byResource(STRATEGIES, info.group, info.version, info.resource);
  if (make) return make(info, type, deps);
  return new GenericStrategy(info, type, byResource(TRAITS, info.group, info.version, info.resource));
}
