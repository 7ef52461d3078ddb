/**
 * What the endpoints and EndpointSlice controllers share (Kubernetes' pkg/controller/util/endpoint): which pods back a Service, how a service port resolves on
 * a pod (a named targetPort is looked up in the pod's container ports), the pod's DNS hostname for a headless
 * service, and the mapping of a pod event to the services it concerns through the services of its namespace only.
 */
import type { Informer } from '../informer.ts';
import { keyOf, type KubeObject } from '../object.ts';
import { isPodReady, isPodTerminal } from '../pods.ts';
import type { Container } from '../types/core-v1.ts';

/** the label that marks the Endpoints and EndpointSlices of a headless Service (no ClusterIP) */
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

export interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  appProtocol?: string;
  targetPort?: number | string;
}

/** the services's selector as a map, or undefined when it has none (such services get no endpoints from skiff) */
export function serviceSelector(svc: KubeObject): Record<string, string> | undefined {
  const sel = svc.spec?.selector as Record<string, string> | undefined | null;
  return sel && Object.keys(sel).length > 0 ? sel : undefined;
}

export function selectorMatches(sel: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  for (const [k, v] of Object.entries(sel)) if (labels?.[k] !== v) return false;
  return true;
}

/**
 * The port number a service port reaches on this pod: a numeric targetPort as is (the service port itself when
 * unset), a named one from the pod's container ports with that name and protocol; undefined when the name is unknown.
 */
export function resolvePodPort(pod: KubeObject, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = sp.protocol ?? 'TCP';
  for (const c of (pod.spec?.containers ?? []) as Container[]) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
    }
  }
  return undefined;
}

/** the pod's IPv4 address (status.podIPs, then status.podIP), if it has one */
export function podIPv4(pod: KubeObject): string | undefined {
  const ips: string[] = ((pod.status?.podIPs ?? []) as { ip: string }[]).map((p) => p.ip);
  if (pod.status?.podIP) ips.push(pod.status.podIP);
  return ips.find((ip) => /^\d+\.\d+\.\d+\.\d+$/.test(ip));
}

/** the hostname a pod publishes in the service's DNS: spec.hostname when spec.subdomain names the service */
export function podHostname(pod: KubeObject, svc: KubeObject): string | undefined {
  const h = pod.spec?.hostname as string | undefined;
  return h && pod.spec?.subdomain === svc.metadata.name && pod.metadata.namespace === svc.metadata.namespace
    ? h
    : undefined;
}

/**
 * Whether a pod is listed at all: it has an IP, is not finished, and is not being deleted unless terminating pods
 * are asked for (EndpointSlices list them with terminating=true, Endpoints only when publishNotReadyAddresses).
 */
export function podIsListed(pod: KubeObject, includeTerminating: boolean): boolean {
  if (!podIPv4(pod)) return false;
  if (isPodTerminal(pod)) return false;
  if (pod.metadata.deletionTimestamp && !includeTerminating) return false;
  return true;
}

/** the pods of the service's namespace its selector matches, listed or not */
export function podsOfService(svc: KubeObject, pods: Informer): KubeObject[] {
  const sel = serviceSelector(svc);
  if (!sel) return [];
  return pods.listNamespace(svc.metadata.namespace!).filter((p) => selectorMatches(sel, p.metadata.labels));
}

/** keys of the services of the pod's namespace whose selector matches the pod */
export function serviceKeysForPod(pod: KubeObject, services: Informer): string[] {
  const out: string[] = [];
  for (const svc of services.listNamespace(pod.metadata.namespace ?? '')) {
    const sel = serviceSelector(svc);
    if (sel && selectorMatches(sel, pod.metadata.labels)) out.push(keyOf(svc));
  }
  return out;
}

/** the fields of a pod that endpoints are made of: an update that changes none of them concerns no service */
export function endpointRelevantState(pod: KubeObject): string {
  return JSON.stringify([
    pod.metadata.labels ?? {},
    pod.status?.podIP ?? '',
    pod.status?.podIPs ?? [],
    pod.status?.phase ?? '',
    isPodReady(pod),
    pod.metadata.deletionTimestamp ?? '',
    pod.spec?.nodeName ?? '',
    pod.spec?.hostname ?? '',
    pod.spec?.subdomain ?? '',
    ((pod.spec?.containers ?? []) as Container[]).map((c) => c.ports ?? []),
  ]);
}
