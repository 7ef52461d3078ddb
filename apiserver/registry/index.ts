/**
 * What each resource does beyond the generic: its REST strategy (the generic behaviour with the traits it declares in
 * TRAITS, or its own strategy class in STRATEGIES) and the handlers of its subresources (SUBRESOURCES, beside the
 * generic status, finalize and scale). All are keyed '<group>/<resource>' ('' group for core), or
 * '<group>/<version>/<resource>' for one version.
 */
import type { ServiceAllocations } from '../allocator.ts';
import type { ResourceInfo } from '../api/resource-info.ts';
import { byResource } from '../api/strategies.ts';
import type { TypeStrategy } from '../rest/resource.ts';
import type { RestStrategy, Traits } from '../rest/strategy.ts';
import { NamespaceStrategy } from './core/namespace.ts';
import { NodeStrategy } from './core/node.ts';
import { PodStrategy } from './core/pod/strategy.ts';
import { ServiceStrategy } from './core/service.ts';
import { GenericStrategy } from './strategy.ts';
import type { NodeProxy } from '../nodeproxy/proxy.ts';
import type { Subresource } from '../rest/subresource.ts';
import { bindingSubresource } from './core/pod/binding.ts';
import { evictionSubresource } from './core/pod/eviction.ts';
import { logSubresource, upgradeSubresource } from './core/pod/node-streams.ts';
import { tokenSubresource, type TokenRequester } from './core/serviceaccount/token.ts';
import { objectSubresource } from './subresources/object.ts';
import { scaleSubresource } from './subresources/scale.ts';

export { GenericStrategy } from './strategy.ts';

/** what strategies need of the server */
export interface StrategyDeps {
  /** ClusterIPs and NodePorts for Services (none: Services get none) */
  serviceAllocations?: ServiceAllocations;
}

/** what subresources need of the server */
export interface SubresourceDeps {
  /** the way to the pods' node agents (log, exec, attach, port-forward) */
  nodeProxy: NodeProxy;
  /** signs TokenRequests (none: the server signs no tokens) */
  tokenRequest?: TokenRequester;
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

/** the subresources every resource that lists them serves the same way */
const GENERIC_SUBRESOURCES: Record<string, Subresource> = {
  status: objectSubresource,
  finalize: objectSubresource,
  scale: scaleSubresource,
};

const SUBRESOURCES: Record<string, (deps: SubresourceDeps) => Record<string, Subresource>> = {
  '/pods': (d) => ({
    binding: bindingSubresource,
    eviction: evictionSubresource,
    log: logSubresource(d.nodeProxy),
    exec: upgradeSubresource(d.nodeProxy, 'exec'),
    attach: upgradeSubresource(d.nodeProxy, 'attach'),
    portforward: upgradeSubresource(d.nodeProxy, 'portforward'),
  }),
  '/serviceaccounts': (d) => ({ token: tokenSubresource(d.tokenRequest) }),
};

/** the handlers of the subresources a resource lists, by name */
export function subresources(info: ResourceInfo, deps: SubresourceDeps): Map<string, Subresource> {
  const own = byResource(SUBRESOURCES, info.group, info.version, info.resource)?.(deps) ?? {};
  const out = new Map<string, Subresource>();
  for (const name of info.subresources) {
    const handler = own[name] ?? GENERIC_SUBRESOURCES[name];
    if (!handler) throw new Error(`${info.group}/${info.resource} lists a subresource ${name} nothing serves`);
    out.set(name, handler);
  }
  return out;
}
