/**
 * The endpoints controller: every Service with a selector has an Endpoints object of the same name listing the
 * addresses of the pods it selects (ready ones in addresses, others in notReadyAddresses) and the ports they serve.
 * Pod events reach the services of their namespace only. An Endpoints is written only when its content differs, and
 * deleted with its Service. Services without a selector are left alone: their Endpoints belong to whoever wrote them.
 */
import type { ApiClient } from '../../lib/kube/api.ts';
import { isNotFound } from '../../lib/kube/api.ts';
import type { Informer } from '../../lib/kube/informer.ts';
import { keyOf, splitKey, type KubeObject } from '../../lib/kube/object.ts';
import { EndpointsR, Pods, Services } from '../../lib/kube/resources.ts';
import type { ControllerDefinition, Reconciler, Result } from '../controller.ts';
import { podsOfService, serviceSelector, watchPodsForServices } from './service-pods.ts';
import { canonicalSubsets, computeSubsets, type EndpointSubset } from './subsets.ts';

export const LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

export const endpointsController: ControllerDefinition = {
  name: 'endpoints',
  component: 'endpoint-controller',
  setup(ctx) {
    const services = ctx.informers.informer(Services);
    const pods = ctx.informers.informer(Pods);
    const endpoints = ctx.informers.informer(EndpointsR);
    const enqueue = (o: KubeObject) => ctx.enqueue(keyOf(o));
    services.addEventHandler({ onAdd: enqueue, onUpdate: (_, s) => enqueue(s), onDelete: enqueue });
    // an Endpoints removed or edited by someone else is put back
    endpoints.addEventHandler({ onUpdate: (_, e) => enqueue(e), onDelete: enqueue });
    watchPodsForServices(pods, services, ctx.enqueue);
    return new EndpointsReconciler(ctx.client, services, pods, endpoints);
  },
};

export class EndpointsReconciler implements Reconciler {
  constructor(
    private readonly client: ApiClient,
    private readonly services: Informer,
    private readonly pods: Informer,
    private readonly endpoints: Informer,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async reconcile(key: string): Promise<Result | void> {
    const { namespace, name } = splitKey(key);
    const svc = this.services.get(key);
    const current = this.endpoints.get(key);
    if (!svc) {
      if (!current) return;
      try {
        await this.client.delete(EndpointsR, namespace, name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      return;
    }
    if (!serviceSelector(svc)) return;
    const subsets = computeSubsets(svc, podsOfService(svc, this.pods));
    const labels = endpointsLabels(svc);
    if (current && sameContent(current, subsets, labels)) return;
    const annotations = { ...(current?.metadata.annotations ?? {}), [LAST_CHANGE_TRIGGER_TIME]: this.now().toISOString() };
    if (!current) {
      await this.client.create(EndpointsR, {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name, namespace, labels, annotations },
        subsets,
      });
      return;
    }
    await this.client.update(EndpointsR, {
      ...current,
      metadata: { ...current.metadata, labels, annotations },
      subsets,
    });
  }
}

/** the service's labels, plus the headless mark for a service without a cluster IP */
export function endpointsLabels(svc: KubeObject): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
  if (svc.spec?.clusterIP === 'None') labels[HEADLESS_LABEL] = '';
  else delete labels[HEADLESS_LABEL];
  return labels;
}

function sameContent(current: KubeObject, subsets: EndpointSubset[], labels: Record<string, string>): boolean {
  return JSON.stringify(canonicalSubsets(current.subsets ?? [])) === JSON.stringify(subsets) && sameMap(current.metadata.labels ?? {}, labels);
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}
