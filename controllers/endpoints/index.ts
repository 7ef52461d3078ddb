/**
 * The endpoints controller: every Service with a selector has an Endpoints object of the same name listing the
 * addresses of the pods it selects (ready ones in addresses, others in notReadyAddresses) and the ports they serve,
 * labelled endpoints.kubernetes.io/managed-by=endpoint-controller. Pod events reach the services of their namespace
 * only. An Endpoints is written only when its content or labels differ, deleted with its Service, and deleted when its
 * Service loses its selector if this controller wrote it. Services without a selector (and ExternalName ones) are
 * otherwise left alone: their Endpoints belong to whoever wrote them. More than 1000 addresses are truncated with
 * the endpoints.kubernetes.io/over-capacity annotation.
 */
import type { ApiClient } from '../../lib/kube/api.ts';
import { isNotFound } from '../../lib/kube/api.ts';
import type { Informer } from '../../lib/kube/informer.ts';
import { keyOf, splitKey, type KubeObject } from '../../lib/kube/object.ts';
import { EndpointsR, Pods, Services } from '../../lib/kube/resources.ts';
import type { ControllerContext, ControllerDefinition, Reconciler, Result } from '../controller.ts';
import { HEADLESS_LABEL, podsOfService, serviceSelector } from '../../lib/kube/endpoints/service-pods.ts';
import { podsOfServicesWatch } from '../service-pods-watch.ts';
import { canonicalSubsets, computeSubsets, truncateSubsets, type EndpointSubset } from './subsets.ts';
import { LAST_CHANGE_TRIGGER_TIME, TriggerTimeTracker } from '../../lib/kube/endpoints/trigger-time.ts';

export { LAST_CHANGE_TRIGGER_TIME } from '../../lib/kube/endpoints/trigger-time.ts';
export const ENDPOINTS_MANAGED_BY_LABEL = 'endpoints.kubernetes.io/managed-by';
export const ENDPOINTS_MANAGED_BY = 'endpoint-controller';
export const OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';
/** the annotation of a leader-election record kept in an Endpoints: such objects are never removed */
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

export const endpointsController: ControllerDefinition<EndpointsReconciler> = {
  name: 'endpoints',
  component: 'endpoint-controller',
  for: Services,
  watches: [
    // an Endpoints removed or edited by someone else is put back; one left without a Service is removed
    { resource: EndpointsR, map: (e) => [keyOf(e)], add: (e, r) => !r.services.get(keyOf(e)) },
    podsOfServicesWatch(),
  ],
  reconciler: (ctx) => new EndpointsReconciler(ctx),
};

export class EndpointsReconciler implements Reconciler {
  private readonly triggerTimes = new TriggerTimeTracker();
  private readonly client: ApiClient;
  readonly services: Informer;
  private readonly pods: Informer;
  private readonly endpoints: Informer;

  constructor(ctx: ControllerContext) {
    this.client = ctx.client;
    this.services = ctx.informers.informer(Services);
    this.pods = ctx.informers.informer(Pods);
    this.endpoints = ctx.informers.informer(EndpointsR);
  }

  async reconcile(key: string): Promise<Result | void> {
    const { namespace, name } = splitKey(key);
    const svc = this.services.get(key);
    const current = this.endpoints.get(key);
    if (!svc) {
      this.triggerTimes.forget(key);
      if (current && !current.metadata.annotations?.[LEADER_ANNOTATION]) await this.remove(namespace!, name);
      return;
    }
    if (svc.spec?.type === 'ExternalName') return;
    if (!serviceSelector(svc)) {
      this.triggerTimes.forget(key);
      if (current?.metadata.labels?.[ENDPOINTS_MANAGED_BY_LABEL] === ENDPOINTS_MANAGED_BY)
        await this.remove(namespace!, name);
      return;
    }
    const pods = podsOfService(svc, this.pods);
    // computed on every sync, so that a sync that writes nothing still records what it has seen
    const trigger = this.triggerTimes.compute(key, svc, pods);
    const full = computeSubsets(svc, pods);
    const truncated = truncateSubsets(full);
    const subsets = truncated ?? full;
    const labels = endpointsLabels(svc);
    if (current && sameContent(current, subsets, labels, truncated !== undefined)) return;

    const annotations: Record<string, string> = { ...(current?.metadata.annotations ?? {}) };
    if (trigger) annotations[LAST_CHANGE_TRIGGER_TIME] = trigger;
    else delete annotations[LAST_CHANGE_TRIGGER_TIME];
    if (truncated) annotations[OVER_CAPACITY] = 'truncated';
    else delete annotations[OVER_CAPACITY];
    const metadata: KubeObject['metadata'] = { ...(current?.metadata ?? { name, namespace }), labels, annotations };
    if (Object.keys(annotations).length === 0) delete metadata.annotations;
    const body: KubeObject = { apiVersion: 'v1', kind: 'Endpoints', metadata, subsets };
    if (!current) await this.client.create(EndpointsR, body);
    else await this.client.update(EndpointsR, body);
  }

  private async remove(namespace: string, name: string): Promise<void> {
    try {
      await this.client.delete(EndpointsR, namespace, name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** the service's labels, the manager's mark, and the headless mark for a service without a cluster IP */
export function endpointsLabels(svc: KubeObject): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
  if (!svc.spec?.clusterIP || svc.spec.clusterIP === 'None') labels[HEADLESS_LABEL] = '';
  else delete labels[HEADLESS_LABEL];
  labels[ENDPOINTS_MANAGED_BY_LABEL] = ENDPOINTS_MANAGED_BY;
  return labels;
}

function sameContent(
  current: KubeObject,
  subsets: EndpointSubset[],
  labels: Record<string, string>,
  overCapacity: boolean,
): boolean {
  return (
    (current.metadata.annotations?.[OVER_CAPACITY] !== undefined) === overCapacity &&
    sameMap(current.metadata.labels ?? {}, labels) &&
    JSON.stringify(canonicalSubsets(current.subsets ?? [])) === JSON.stringify(subsets)
  );
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}
