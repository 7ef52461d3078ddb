/**
 * Pods: they start Pending with their QoS class, keep their owner references on status writes, and are deleted
 * gracefully while a node may be running them (the grace period asked for, else the pod's, else 30 s); the watch
 * cache indexes them by node.
 */
import { isObject, type ApiObject } from '../../../rest/meta.ts';
import type { ResourceInfo } from '../../../api/resource-info.ts';
import type { TypeStrategy } from '../../../rest/resource.ts';
import { GenericStrategy } from '../../strategy.ts';

const DEFAULT_GRACE_SECONDS = 30;

/** Guaranteed when every container has equal cpu+memory requests and limits, BestEffort when none set any */
export function podQosClass(spec: unknown): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const s = isObject(spec) ? spec : {};
  const containers = [
    ...(Array.isArray(s.initContainers) ? s.initContainers : []),
    ...(Array.isArray(s.containers) ? s.containers : []),
  ];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const resources = isObject(c) && isObject(c.resources) ? c.resources : {};
    const req = isObject(resources.requests) ? resources.requests : {};
    const lim = isObject(resources.limits) ? resources.limits : {};
    for (const res of ['cpu', 'memory']) {
      if (req[res] !== undefined || lim[res] !== undefined) any = true;
      const l = lim[res];
      const q = req[res] ?? l;
      if (l === undefined || String(q) !== String(l)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export class PodStrategy extends GenericStrategy {
  constructor(info: ResourceInfo, type: TypeStrategy) {
    super(info, type, {
      generation: true,
      returnDeletedObject: true,
      statusKeepsMetadata: ['ownerReferences'],
      indexField: 'spec.nodeName',
    });
  }

  protected override initialStatus(pod: ApiObject): unknown {
    return { phase: 'Pending', qosClass: podQosClass(pod.spec) };
  }

  /** a pod on a node that has not finished may be running there: its node deletes it once its containers stopped */
  override gracePeriod(pod: ApiObject, requested: number | undefined): number {
    const spec = isObject(pod.spec) ? pod.spec : {};
    const phase = isObject(pod.status) ? pod.status.phase : undefined;
    const running = spec.nodeName && phase !== 'Succeeded' && phase !== 'Failed';
    if (!running) return 0;
    const own = spec.terminationGracePeriodSeconds;
    return requested ?? (typeof own === 'number' ? own : DEFAULT_GRACE_SECONDS);
  }
}
