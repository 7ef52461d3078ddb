/**
 * The subsets of a Service's Endpoints, as Kubernetes packs them: each (pod, service port) pair lands in the subset
 * of the pod's resolved port set; ready pods in addresses, the others in notReadyAddresses; addresses sorted by IP,
 * ports by name, subsets by their ports, so that equal content compares equal.
 */
import type { KubeObject } from '../../lib/kube/object.ts';
import { isPodReady } from '../../lib/kube/pods.ts';
import {
  podHostname,
  podIPv4,
  podIsListed,
  resolvePodPort,
  type ServicePort,
} from '../../lib/kube/endpoints/service-pods.ts';

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

export function podAddress(pod: KubeObject, svc: KubeObject): EndpointAddress {
  const a: EndpointAddress = {
    ip: podIPv4(pod)!,
    targetRef: {
      kind: 'Pod',
      namespace: pod.metadata.namespace!,
      name: pod.metadata.name!,
      uid: pod.metadata.uid ?? '',
    },
  };
  const hostname = podHostname(pod, svc);
  if (hostname) a.hostname = hostname;
  if (pod.spec?.nodeName) a.nodeName = pod.spec.nodeName;
  // fixed key order: content is compared as JSON
  return {
    ip: a.ip,
    ...(a.hostname ? { hostname: a.hostname } : {}),
    ...(a.nodeName ? { nodeName: a.nodeName } : {}),
    targetRef: a.targetRef,
  };
}

function endpointPort(sp: ServicePort, port: number): EndpointPort {
  return {
    ...(sp.name ? { name: sp.name } : {}),
    port,
    protocol: sp.protocol ?? 'TCP',
    ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}),
  };
}

/** the subsets of the Endpoints of `svc` given the pods its selector matches */
export function computeSubsets(svc: KubeObject, pods: KubeObject[]): EndpointSubset[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const servicePorts: ServicePort[] = svc.spec?.ports ?? [];
  const headless = svc.spec?.clusterIP === 'None';
  // port-set key → subset being built
  const groups = new Map<
    string,
    { ports: EndpointPort[]; ready: Map<string, EndpointAddress>; notReady: Map<string, EndpointAddress> }
  >();
  const add = (ports: EndpointPort[], addr: EndpointAddress, ready: boolean) => {
    const sorted = sortPorts(ports);
    const key = JSON.stringify(sorted);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports: sorted, ready: new Map(), notReady: new Map() }));
    (ready ? g.ready : g.notReady).set(addr.ip, addr);
  };
  for (const pod of pods) {
    if (!podIsListed(pod, publishNotReady)) continue;
    const addr = podAddress(pod, svc);
    const ready = publishNotReady || isPodReady(pod);
    if (servicePorts.length === 0) {
      if (headless) add([], addr, ready);
      continue;
    }
    for (const sp of servicePorts) {
      const port = resolvePodPort(pod, sp);
      if (port === undefined) continue;
      add([endpointPort(sp, port)], addr, ready);
    }
  }
  return repack(groups);
}

/** merges subsets that list the same addresses into one with all their ports, as Kubernetes' repacking does */
function repack(
  groups: Map<
    string,
    { ports: EndpointPort[]; ready: Map<string, EndpointAddress>; notReady: Map<string, EndpointAddress> }
  >,
): EndpointSubset[] {
  const byAddresses = new Map<
    string,
    { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }
  >();
  for (const g of groups.values()) {
    const ready = [...g.ready.values()].sort(byIp);
    const notReady = [...g.notReady.values()].sort(byIp);
    const key = JSON.stringify([ready, notReady]);
    const m = byAddresses.get(key);
    if (m) m.ports.push(...g.ports);
    else byAddresses.set(key, { ports: [...g.ports], ready, notReady });
  }
  const out: EndpointSubset[] = [];
  for (const s of byAddresses.values()) {
    const subset: EndpointSubset = {};
    if (s.ready.length) subset.addresses = s.ready;
    if (s.notReady.length) subset.notReadyAddresses = s.notReady;
    if (s.ports.length) subset.ports = sortPorts(s.ports);
    out.push(subset);
  }
  return out.sort(
    (a, b) =>
      cmp(JSON.stringify(a.ports ?? []), JSON.stringify(b.ports ?? [])) || cmp(JSON.stringify(a), JSON.stringify(b)),
  );
}

function sortPorts(ports: EndpointPort[]): EndpointPort[] {
  return [...ports].sort((a, b) => cmp(a.name ?? '', b.name ?? '') || a.port - b.port || cmp(a.protocol, b.protocol));
}

function byIp(a: EndpointAddress, b: EndpointAddress): number {
  return cmp(ipSortKey(a.ip), ipSortKey(b.ip));
}

function ipSortKey(ip: string): string {
  return ip
    .split('.')
    .map((p) => p.padStart(3, '0'))
    .join('.');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** subsets as read from the API, with the key order computeSubsets writes, to compare them as JSON */
export function canonicalSubsets(subsets: EndpointSubset[]): EndpointSubset[] {
  const addr = (a: EndpointAddress): EndpointAddress => ({
    ip: a.ip,
    ...(a.hostname ? { hostname: a.hostname } : {}),
    ...(a.nodeName ? { nodeName: a.nodeName } : {}),
    targetRef: { kind: 'Pod', namespace: a.targetRef?.namespace, name: a.targetRef?.name, uid: a.targetRef?.uid ?? '' },
  });
  return subsets.map((s) => {
    const out: EndpointSubset = {};
    if (s.addresses?.length) out.addresses = s.addresses.map(addr);
    if (s.notReadyAddresses?.length) out.notReadyAddresses = s.notReadyAddresses.map(addr);
    if (s.ports?.length)
      out.ports = s.ports.map((p) => ({
        ...(p.name ? { name: p.name } : {}),
        port: p.port,
        protocol: p.protocol ?? 'TCP',
        ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
      }));
    return out;
  });
}

/** the most addresses (ready and not) one Endpoints holds; beyond, the subsets are truncated */
export const MAX_ENDPOINT_ADDRESSES = 1000;

/**
 * Subsets cut down to MAX_ENDPOINT_ADDRESSES, or undefined when they fit. Ready addresses are kept first: when they
 * alone fit, only not-ready ones are cut, otherwise every not-ready one goes and the ready ones are cut. Each subset
 * keeps a share of the room proportional to its share of the addresses being cut (rounded up, the last ones get
 * what is left).
 */
export function truncateSubsets(subsets: EndpointSubset[]): EndpointSubset[] | undefined {
  let ready = 0;
  let notReady = 0;
  for (const s of subsets) {
    ready += s.addresses?.length ?? 0;
    notReady += s.notReadyAddresses?.length ?? 0;
  }
  if (ready + notReady <= MAX_ENDPOINT_ADDRESSES) return undefined;
  const cutReady = ready > MAX_ENDPOINT_ADDRESSES;
  const room = cutReady ? MAX_ENDPOINT_ADDRESSES : MAX_ENDPOINT_ADDRESSES - ready;
  const total = cutReady ? ready : notReady;
  let left = room;
  return subsets.map((s) => {
    const list = (cutReady ? s.addresses : s.notReadyAddresses) ?? [];
    const keep = list.slice(0, Math.min(Math.ceil((list.length / total) * room), left));
    left -= keep.length;
    const out: EndpointSubset = {};
    if (cutReady) {
      if (keep.length) out.addresses = keep;
    } else {
      if (s.addresses?.length) out.addresses = s.addresses;
      if (keep.length) out.notReadyAddresses = keep;
    }
    if (s.ports?.length) out.ports = s.ports;
    return out;
  });
}
