/**
 * The EndpointSlice controller: the pods a Service selects are published in discovery.k8s.io/v1 EndpointSlices
 * (IPv4) owned by the Service, up to 100 endpoints each, one group of slices per set of resolved ports. Existing
 * slices are changed as little as possible: endpoints that stay stay in their slice, changed ones are rewritten in
 * place, new ones fill the room of slices being written anyway, then other slices, then new slices; emptied slices
 * are deleted. A Service without endpoints keeps one empty placeholder slice. Slices of a deleted Service go with
 * it through their ownerReference (garbage collection).
 */
import type { ApiClient } from '../../lib/kube/api.ts';
import { isNotFound } from '../../lib/kube/api.ts';
import type { Informer } from '../../lib/kube/informer.ts';
import { keyOf, type KubeObject } from '../../lib/kube/object.ts';
import { EndpointSlices, Nodes, Pods, Services } from '../../lib/kube/resources.ts';
import type { ControllerDefinition, Reconciler, Result } from '../controller.ts';
import { HEADLESS_LABEL, LAST_CHANGE_TRIGGER_TIME } from '../endpoints/index.ts';
import { podIsListed, podsOfService, serviceSelector, watchPodsForServices } from '../endpoints/service-pods.ts';
import { canonicalEndpoint, canonicalPort, endpointId, podEndpoint, podPorts, ZONE_LABEL, type SliceEndpoint, type SlicePort } from './slice-content.ts';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY = 'endpointslice-controller.k8s.io';
export const MAX_ENDPOINTS_PER_SLICE = 100;
export const SLICE_SERVICE_INDEX = 'endpointslice-service';

export const endpointSliceController: ControllerDefinition = {
  name: 'endpointslice',
  component: 'endpointslice-controller',
  setup(ctx) {
    const services = ctx.informers.informer(Services);
    const pods = ctx.informers.informer(Pods);
    const slices = ctx.informers.informer(EndpointSlices);
    const nodes = ctx.informers.informer(Nodes);
    slices.addIndex(SLICE_SERVICE_INDEX, sliceServiceKeys);
    const enqueue = (o: KubeObject) => ctx.enqueue(keyOf(o));
    services.addEventHandler({ onAdd: enqueue, onUpdate: (_, s) => enqueue(s), onDelete: enqueue });
    const enqueueOwner = (s: KubeObject) => {
      for (const k of sliceServiceKeys(s)) ctx.enqueue(k);
    };
    slices.addEventHandler({ onUpdate: (_, s) => enqueueOwner(s), onDelete: enqueueOwner });
    watchPodsForServices(pods, services, ctx.enqueue);
    return new EndpointSliceReconciler(ctx.client, services, pods, slices, nodes);
  },
};

/** the "namespace/service" a slice of this controller belongs to */
export function sliceServiceKeys(s: KubeObject): string[] {
  const l = s.metadata.labels ?? {};
  return l[MANAGED_BY_LABEL] === MANAGED_BY && l[SERVICE_NAME_LABEL] ? [`${s.metadata.namespace}/${l[SERVICE_NAME_LABEL]}`] : [];
}

interface Draft {
  /** the slice as it is (undefined for a new one) */
  current?: KubeObject;
  ports: SlicePort[];
  endpoints: SliceEndpoint[];
  changed: boolean;
}

export class EndpointSliceReconciler implements Reconciler {
  constructor(
    private readonly client: ApiClient,
    private readonly services: Informer,
    private readonly pods: Informer,
    private readonly slices: Informer,
    private readonly nodes: Informer,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async reconcile(key: string): Promise<Result | void> {
    const svc = this.services.get(key);
    if (!svc || !serviceSelector(svc)) return;
    const zoneOf = (n: string) => this.nodes.get(n)?.metadata.labels?.[ZONE_LABEL];

    // desired endpoints, grouped by the ports they serve
    const desired = new Map<string, { ports: SlicePort[]; endpoints: Map<string, SliceEndpoint> }>();
    for (const pod of podsOfService(svc, this.pods)) {
      if (!podIsListed(pod, true)) continue;
      const ports = podPorts(pod, svc);
      const pk = JSON.stringify(ports);
      let g = desired.get(pk);
      if (!g) desired.set(pk, (g = { ports, endpoints: new Map() }));
      const ep = podEndpoint(pod, svc, zoneOf);
      g.endpoints.set(endpointId(ep), ep);
    }

    const labels = sliceLabels(svc);
    const existing = this.slices.byIndex(SLICE_SERVICE_INDEX, key).filter((s) => s.addressType === 'IPv4' || s.addressType === undefined);
    const drafts: Draft[] = [];
    const deletes: KubeObject[] = [];
    const placed = new Set<string>();
    for (const s of existing) {
      const ports = ((s.ports ?? []) as any[]).map(canonicalPort);
      const g = desired.get(JSON.stringify(ports));
      if (!g) {
        deletes.push(s);
        continue;
      }
      const d: Draft = { current: s, ports, endpoints: [], changed: !sameLabels(s.metadata.labels ?? {}, labels) };
      for (const raw of (s.endpoints ?? []) as any[]) {
        const e = canonicalEndpoint(raw);
        const id = endpointId(e);
        const want = g.endpoints.get(id);
        if (!want || placed.has(id)) {
          d.changed = true;
          continue;
        }
        placed.add(id);
        if (JSON.stringify(want) !== JSON.stringify(e)) d.changed = true;
        d.endpoints.push(want);
      }
      if (d.endpoints.length === 0) deletes.push(s);
      else drafts.push(d);
    }
    for (const [pk, g] of desired) {
      const rest = [...g.endpoints.entries()].filter(([id]) => !placed.has(id)).map(([, e]) => e);
      if (rest.length === 0) continue;
      const mine = drafts.filter((d) => JSON.stringify(d.ports) === pk);
      // first the slices written anyway, then the others, then new ones
      for (const d of [...mine.filter((d) => d.changed), ...mine.filter((d) => !d.changed)]) {
        while (rest.length && d.endpoints.length < MAX_ENDPOINTS_PER_SLICE) {
          d.endpoints.push(rest.shift()!);
          d.changed = true;
        }
      }
      while (rest.length) drafts.push({ ports: g.ports, endpoints: rest.splice(0, MAX_ENDPOINTS_PER_SLICE), changed: true });
    }
    // a service without endpoints keeps one empty slice
    if (drafts.length === 0) {
      const i = deletes.findIndex((s) => !(s.endpoints ?? []).length && !(s.ports ?? []).length);
      if (i >= 0) {
        const [keep] = deletes.splice(i, 1);
        drafts.push({ current: keep, ports: [], endpoints: [], changed: !sameLabels(keep.metadata.labels ?? {}, labels) });
      } else drafts.push({ ports: [], endpoints: [], changed: true });
    }

    const trigger = this.now().toISOString();
    for (const d of drafts) {
      if (!d.changed) continue;
      if (d.current) {
        await this.client.update(EndpointSlices, {
          ...d.current,
          metadata: { ...d.current.metadata, labels, annotations: { ...(d.current.metadata.annotations ?? {}), [LAST_CHANGE_TRIGGER_TIME]: trigger } },
          addressType: 'IPv4',
          endpoints: d.endpoints,
          ports: d.ports,
        });
      } else {
        await this.client.create(EndpointSlices, {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            generateName: `${svc.metadata.name}-`,
            namespace: svc.metadata.namespace,
            labels,
            annotations: { [LAST_CHANGE_TRIGGER_TIME]: trigger },
            ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc.metadata.name!, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true }],
          },
          addressType: 'IPv4',
          endpoints: d.endpoints,
          ports: d.ports,
        });
      }
    }
    for (const s of deletes) {
      try {
        await this.client.delete(EndpointSlices, s.metadata.namespace, s.metadata.name!);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }
}

/** the service's labels, plus the service name, the manager and the headless mark */
export function sliceLabels(svc: KubeObject): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
  if (svc.spec?.clusterIP === 'None') labels[HEADLESS_LABEL] = '';
  else delete labels[HEADLESS_LABEL];
  labels[SERVICE_NAME_LABEL] = svc.metadata.name!;
  labels[MANAGED_BY_LABEL] = MANAGED_BY;
  return labels;
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}
