/**
 * The EndpointSlice controller: the pods a Service selects are published in discovery.k8s.io/v1 EndpointSlices
 * (IPv4) owned by the Service, up to 100 endpoints each, one group of slices per set of resolved ports. Existing
 * slices are changed as little as possible: endpoints that stay stay in their slice and changed ones are rewritten
 * in place; new ones first fill the slices being written anyway, then the one unchanged slice closest to full that
 * can take them all, then new slices; a slice to create takes the place of one to delete (an update instead of a
 * create and a delete). Emptied slices are deleted, and a Service without endpoints keeps one empty placeholder slice.
 * Slices of a deleted Service go with it through their ownerReference (garbage collection). What this controller
 * wrote is tracked until its informer shows it, so that a sync never runs on a cache older than its own writes.
 */
import type { ApiClient } from '../../lib/kube/api.ts';
import { isNotFound } from '../../lib/kube/api.ts';
import type { Informer } from '../../lib/kube/informer.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { EndpointSlices, Nodes, Pods, Services } from '../../lib/kube/resources.ts';
import {
  controllerRef,
  type ControllerContext,
  type ControllerDefinition,
  type Reconciler,
  type Result,
} from '../controller.ts';
import { HEADLESS_LABEL, podIsListed, podsOfService, serviceSelector } from '../../lib/kube/endpoints/service-pods.ts';
import { LAST_CHANGE_TRIGGER_TIME, TriggerTimeTracker } from '../../lib/kube/endpoints/trigger-time.ts';
import { podsOfServicesWatch } from '../service-pods-watch.ts';
import {
  canonicalEndpoint,
  canonicalPort,
  endpointId,
  podEndpoint,
  podPorts,
  portsKey,
  ZONE_LABEL,
  type RawEndpoint,
  type RawPort,
  type SliceEndpoint,
  type SlicePort,
} from './slice-content.ts';
import { SliceTracker } from './slice-tracker.ts';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY = 'endpointslice-controller.k8s.io';
export const MAX_ENDPOINTS_PER_SLICE = 100;
export const SLICE_SERVICE_INDEX = 'endpointslice-service';
/** a sync caused by someone else's change of a slice waits this long, so that bursts of such changes are merged */
export const SLICE_CHANGE_SYNC_DELAY_MS = 1000;
/** how soon a sync that found the cache behind this controller's own writes is tried again */
export const STALE_CACHE_RETRY_MS = 50;

export const endpointSliceController: ControllerDefinition<EndpointSliceReconciler> = {
  name: 'endpointslice',
  component: 'endpointslice-controller',
  for: Services,
  watches: [
    // its own writes come back as events that need no sync; changes by others are merged for a second
    {
      resource: EndpointSlices,
      indexes: { [SLICE_SERVICE_INDEX]: sliceServiceKeys },
      map: sliceServiceKeys,
      delayMs: SLICE_CHANGE_SYNC_DELAY_MS,
      add: (s, r) => r.tracker.changedByOthers(s),
      update: (old, s, r) => sliceServiceKeys(old)[0] !== sliceServiceKeys(s)[0] || r.tracker.changedByOthers(s),
      delete: (s, r) => !r.tracker.gone(s),
    },
    podsOfServicesWatch(),
  ],
  reconciler: (ctx) => new EndpointSliceReconciler(ctx),
};

/** the "namespace/service" a slice of this controller belongs to */
export function sliceServiceKeys(s: KubeObject): string[] {
  const l = s.metadata.labels ?? {};
  return l[MANAGED_BY_LABEL] === MANAGED_BY && l[SERVICE_NAME_LABEL]
    ? [`${s.metadata.namespace}/${l[SERVICE_NAME_LABEL]}`]
    : [];
}

/** a slice as it will be written: an existing one (current) or a new one */
interface Draft {
  current?: KubeObject;
  ports: SlicePort[];
  endpoints: SliceEndpoint[];
}

interface Plan {
  create: Draft[];
  update: Draft[];
  remove: KubeObject[];
}

/** the endpoints a service's slices should hold, grouped by the ports they serve */
type Desired = Map<string, { ports: SlicePort[]; endpoints: Map<string, SliceEndpoint> }>;

export class EndpointSliceReconciler implements Reconciler {
  private readonly triggerTimes = new TriggerTimeTracker();
  /** what this controller wrote and has not seen back yet */
  readonly tracker = new SliceTracker();
  private readonly client: ApiClient;
  readonly services: Informer;
  private readonly pods: Informer;
  private readonly slices: Informer;
  private readonly nodes: Informer;

  constructor(ctx: ControllerContext) {
    this.client = ctx.client;
    this.services = ctx.informers.informer(Services);
    this.pods = ctx.informers.informer(Pods);
    this.slices = ctx.informers.informer(EndpointSlices);
    this.nodes = ctx.informers.informer(Nodes);
  }

  async reconcile(key: string): Promise<Result | void> {
    const svc = this.services.get(key);
    if (!svc) {
      this.tracker.forgetService(key);
      this.triggerTimes.forget(key);
      return;
    }
    if (svc.spec?.type === 'ExternalName' || !serviceSelector(svc)) return;
    const existing = this.slices.byIndex(SLICE_SERVICE_INDEX, key).filter((s) => !s.metadata.deletionTimestamp);
    if (this.tracker.stale(key, existing)) return { requeueAfterMs: STALE_CACHE_RETRY_MS };

    const pods = podsOfService(svc, this.pods);
    const trigger = this.triggerTimes.compute(key, svc, pods);
    const { desired, missingNodes } = this.desiredEndpoints(svc, key, pods);
    const plan = this.plan(svc, existing, desired);
    await this.apply(svc, key, plan, trigger);
    if (missingNodes.length) throw new Error(missingNodes.join('; '));
  }

  /** step 1: the endpoints of the pods, by ports; pods bound to a node that does not exist are left out and named */
  private desiredEndpoints(
    svc: KubeObject,
    key: string,
    pods: KubeObject[],
  ): { desired: Desired; missingNodes: string[] } {
    const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
    const missingNodes: string[] = [];
    const desired: Desired = new Map();
    for (const pod of pods) {
      if (!podIsListed(pod, true)) continue;
      const nodeName: string | undefined = pod.spec?.nodeName;
      const node = nodeName ? this.nodes.get(nodeName) : undefined;
      // a pod bound to a node that does not exist is left out (unless the service publishes everything) and retried
      if (nodeName && !node && !publishNotReady) {
        missingNodes.push(`skipping Pod ${pod.metadata.name} for Service ${key}: Node ${nodeName} Not Found`);
        continue;
      }
      const ports = podPorts(pod, svc);
      const pk = portsKey(ports);
      let g = desired.get(pk);
      if (!g) desired.set(pk, (g = { ports, endpoints: new Map() }));
      const ep = podEndpoint(pod, svc, () => node?.metadata.labels?.[ZONE_LABEL]);
      g.endpoints.set(endpointId(ep), ep);
    }
    return { desired, missingNodes };
  }

  /** step 2: the least change of the existing slices that publishes the desired endpoints */
  private plan(svc: KubeObject, existing: KubeObject[], desired: Desired): Plan {
    const labels = sliceLabels(svc);
    const plan: Plan = { create: [], update: [], remove: [] };
    const byPorts = new Map<string, KubeObject[]>();
    for (const s of existing) {
      if (s.addressType !== 'IPv4' || !ownedBy(s, svc)) {
        plan.remove.push(s);
        continue;
      }
      const pk = portsKey(((s.ports ?? []) as RawPort[]).map(canonicalPort));
      const list = byPorts.get(pk);
      if (list) list.push(s);
      else byPorts.set(pk, [s]);
    }
    for (const [pk, g] of desired) this.planPorts(plan, byPorts.get(pk) ?? [], g.ports, g.endpoints, labels);
    // slices of ports no endpoint serves any more go
    for (const [pk, list] of byPorts) if (!desired.has(pk)) plan.remove.push(...list);
    // a service without endpoints keeps one empty slice
    const kept = existing.length - plan.remove.length;
    if (kept === 0 && plan.create.length === 0) {
      const i = plan.remove.findIndex((s) => isPlaceholder(s, labels, svc));
      if (i >= 0 && plan.remove.length === 1) plan.remove.splice(i, 1);
      else plan.create.push({ ports: [], endpoints: [] });
    }
    // a slice to create takes the place of one to delete
    for (let i = 0; i < plan.remove.length && plan.create.length > 0;) {
      const s = plan.remove[i];
      if (s.addressType === 'IPv4' && ownedBy(s, svc)) {
        plan.update.push({ ...plan.create.pop()!, current: s });
        plan.remove.splice(i, 1);
      } else i++;
    }
    return plan;
  }

  /** step 3: new slices first and deletions last, so that no endpoint is missing from the slices in between */
  private async apply(svc: KubeObject, key: string, plan: Plan, trigger: string | undefined): Promise<void> {
    const labels = sliceLabels(svc);
    if (!svc.metadata.deletionTimestamp) {
      for (const d of plan.create) {
        const created = await this.client.create(EndpointSlices, {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            generateName: `${svc.metadata.name}-`,
            namespace: svc.metadata.namespace,
            labels,
            ...(trigger ? { annotations: { [LAST_CHANGE_TRIGGER_TIME]: trigger } } : {}),
            ownerReferences: [controllerRef(svc, Services)],
          },
          addressType: 'IPv4',
          endpoints: d.endpoints,
          ports: d.ports,
        });
        this.tracker.written(key, created);
      }
    }
    for (const d of plan.update) {
      const annotations: Record<string, string> = { ...(d.current!.metadata.annotations ?? {}) };
      if (trigger) annotations[LAST_CHANGE_TRIGGER_TIME] = trigger;
      else delete annotations[LAST_CHANGE_TRIGGER_TIME];
      const metadata: KubeObject['metadata'] = { ...d.current!.metadata, labels, annotations };
      if (Object.keys(annotations).length === 0) delete metadata.annotations;
      const updated = await this.client.update(EndpointSlices, {
        ...d.current!,
        metadata,
        addressType: 'IPv4',
        endpoints: d.endpoints,
        ports: d.ports,
      });
      this.tracker.written(key, updated);
    }
    for (const s of plan.remove) {
      this.tracker.deleting(key, s);
      try {
        await this.client.delete(EndpointSlices, s.metadata.namespace, s.metadata.name!);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  /** what the slices of one set of ports need: the steps of the minimal change described at the top */
  private planPorts(
    plan: Plan,
    slices: KubeObject[],
    ports: SlicePort[],
    want: Map<string, SliceEndpoint>,
    labels: Record<string, string>,
  ): void {
    const toUpdate: Draft[] = [];
    const unchanged: KubeObject[] = [];
    for (const s of slices) {
      let changed = !sameLabels(s.metadata.labels ?? {}, labels);
      const endpoints: SliceEndpoint[] = [];
      for (const raw of (s.endpoints ?? []) as RawEndpoint[]) {
        const e = canonicalEndpoint(raw);
        const id = endpointId(e);
        const w = want.get(id);
        if (!w) {
          changed = true;
          continue;
        }
        if (JSON.stringify(w) !== JSON.stringify(e)) changed = true;
        endpoints.push(w);
        want.delete(id);
      }
      if (!changed) unchanged.push(s);
      else if (endpoints.length === 0) plan.remove.push(s);
      else toUpdate.push({ current: s, ports, endpoints });
    }
    const rest = [...want.values()];
    for (const d of toUpdate) {
      while (rest.length && d.endpoints.length < MAX_ENDPOINTS_PER_SLICE) d.endpoints.push(rest.shift()!);
    }
    while (rest.length) {
      // the unchanged slice closest to full that takes all that is left, else a new slice
      let fill: KubeObject | undefined;
      if (rest.length < MAX_ENDPOINTS_PER_SLICE) {
        let room = MAX_ENDPOINTS_PER_SLICE;
        for (const s of unchanged) {
          const left = MAX_ENDPOINTS_PER_SLICE - rest.length - (s.endpoints ?? []).length;
          if (left >= 0 && left < room) {
            room = left;
            fill = s;
          }
        }
      }
      if (fill) {
        unchanged.splice(unchanged.indexOf(fill), 1);
        toUpdate.push({
          current: fill,
          ports,
          endpoints: [...((fill.endpoints ?? []) as RawEndpoint[]).map(canonicalEndpoint), ...rest.splice(0)],
        });
      } else plan.create.push({ ports, endpoints: rest.splice(0, MAX_ENDPOINTS_PER_SLICE) });
    }
    plan.update.push(...toUpdate);
  }
}

function ownedBy(slice: KubeObject, svc: KubeObject): boolean {
  return (slice.metadata.ownerReferences ?? []).some((r) => r.uid === svc.metadata.uid && r.kind === 'Service');
}

function isPlaceholder(s: KubeObject, labels: Record<string, string>, svc: KubeObject): boolean {
  return (
    !(s.endpoints ?? []).length &&
    !(s.ports ?? []).length &&
    s.addressType === 'IPv4' &&
    ownedBy(s, svc) &&
    sameLabels(s.metadata.labels ?? {}, labels)
  );
}

/** the service's labels (but the reserved ones), plus the service name, the manager and the headless mark */
export function sliceLabels(svc: KubeObject): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata.labels ?? {})) {
    if (k !== SERVICE_NAME_LABEL && k !== MANAGED_BY_LABEL && k !== HEADLESS_LABEL) labels[k] = v;
  }
  if (!svc.spec?.clusterIP || svc.spec.clusterIP === 'None') labels[HEADLESS_LABEL] = '';
  labels[SERVICE_NAME_LABEL] = svc.metadata.name!;
  labels[MANAGED_BY_LABEL] = MANAGED_BY;
  return labels;
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}
