/** The endpoints and ports of a Service's EndpointSlices, in the fixed key order they are written and compared in. */
import type { KubeObject } from '../../lib/kube/object.ts';
import { isPodReady } from '../../lib/kube/pods.ts';
import { podHostname, podIPv4, resolvePodPort, type ServicePort } from '../../lib/kube/endpoints/service-pods.ts';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';

export interface SliceEndpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  hostname?: string;
  /** namespace and name are there in every endpoint this controller writes; a slice read may lack them */
  targetRef: { kind: 'Pod'; namespace?: string; name?: string; uid: string };
  nodeName?: string;
  zone?: string;
}

export interface SlicePort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

/** an endpoint of a slice as read from the API */
export interface RawEndpoint {
  addresses?: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  hostname?: string;
  targetRef?: { namespace?: string; name?: string; uid?: string };
  nodeName?: string;
  zone?: string;
}

/** a port of a slice as read from the API */
export interface RawPort {
  name?: string;
  port: number;
  protocol?: string;
  appProtocol?: string;
}

export function canonicalEndpoint(e: RawEndpoint): SliceEndpoint {
  return {
    addresses: [...(e.addresses ?? [])],
    conditions: {
      ready: e.conditions?.ready === true,
      serving: e.conditions?.serving === true,
      terminating: e.conditions?.terminating === true,
    },
    ...(e.hostname ? { hostname: e.hostname } : {}),
    targetRef: { kind: 'Pod', namespace: e.targetRef?.namespace, name: e.targetRef?.name, uid: e.targetRef?.uid ?? '' },
    ...(e.nodeName ? { nodeName: e.nodeName } : {}),
    ...(e.zone ? { zone: e.zone } : {}),
  };
}

export function canonicalPort(p: RawPort): SlicePort {
  return {
    name: p.name ?? '',
    port: p.port,
    protocol: p.protocol ?? 'TCP',
    ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
  };
}

/** the identity of an endpoint across updates: its pod, addresses and hostname (other fields change in place) */
export function endpointId(e: SliceEndpoint): string {
  return `${e.targetRef.namespace}/${e.targetRef.name}|${e.addresses.join(',')}|${e.hostname ?? ''}`;
}

/** the key of a set of ports, whatever their order */
export function portsKey(ports: SlicePort[]): string {
  return JSON.stringify(
    [...ports].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : a.port - b.port || (a.protocol < b.protocol ? -1 : 1),
    ),
  );
}

/** the endpoint of a pod (which must have an IPv4 address) for the service */
export function podEndpoint(
  pod: KubeObject,
  svc: KubeObject,
  zoneOf: (nodeName: string) => string | undefined,
): SliceEndpoint {
  const terminating = !!pod.metadata.deletionTimestamp;
  const serving = isPodReady(pod);
  const ready = svc.spec?.publishNotReadyAddresses === true ? true : serving && !terminating;
  const nodeName: string | undefined = pod.spec?.nodeName;
  return canonicalEndpoint({
    addresses: [podIPv4(pod)!],
    conditions: { ready, serving, terminating },
    hostname: podHostname(pod, svc),
    targetRef: { namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
    nodeName,
    zone: nodeName ? zoneOf(nodeName) : undefined,
  });
}

/** the ports of the service as this pod serves them (ports whose named target the pod lacks are left out) */
export function podPorts(pod: KubeObject, svc: KubeObject): SlicePort[] {
  const out: SlicePort[] = [];
  for (const sp of (svc.spec?.ports ?? []) as ServicePort[]) {
    const port = resolvePodPort(pod, sp);
    if (port !== undefined) out.push(canonicalPort({ ...sp, port }));
  }
  return out;
}
