/**
 * What the service proxy must do, computed from Services and EndpointSlices: one entry per service port with its
 * virtual IP, node port, affinity and the ready endpoints (address and target port) in a stable order. Entries carry a
 * signature, so a sync rewrites only the service ports whose signature changed.
 */
import { createHash } from 'node:crypto';
import type { EndpointSlice, Service } from '../objects.ts';

export interface Endpoint {
  ip: string;
  port: number;
  /** on this node (externalTrafficPolicy Local uses only these) */
  local: boolean;
}

export interface ServicePort {
  /** ns/name:portName/protocol */
  key: string;
  namespace: string;
  service: string;
  portName: string;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  clusterIPs: string[];
  port: number;
  nodePort?: number;
  externalIPs: string[];
  affinityTimeoutSeconds?: number;
  externalLocal: boolean;
  endpoints: Endpoint[];
  /** changes whenever anything above changes */
  signature: string;
  /** short stable id used in chain names */
  id: string;
}

export function shortHash(s: string, n = 12): string {
  return createHash('sha256').update(s).digest('hex').slice(0, n).toUpperCase();
}

/** The service ports of one Service with the endpoints of its slices. Headless and ExternalName Services have none. */
export function servicePorts(svc: Service, slices: EndpointSlice[], nodeName: string): ServicePort[] {
  const spec = svc.spec ?? {};
  if (spec.type === 'ExternalName' || !spec.clusterIP || spec.clusterIP === 'None') return [];
  const ns = svc.metadata.namespace!;
  const name = svc.metadata.name!;
  const clusterIPs = (spec.clusterIPs ?? [spec.clusterIP]).filter((ip) => ip && ip !== 'None' && !ip.includes(':'));
  const out: ServicePort[] = [];
  for (const p of spec.ports ?? []) {
    const portName = p.name ?? '';
    const protocol = p.protocol ?? 'TCP';
    const endpoints: Endpoint[] = [];
    const seen = new Set<string>();
    for (const sl of slices) {
      if (sl.addressType && sl.addressType !== 'IPv4') continue;
      const sp = (sl.ports ?? []).find((x) => (x.name ?? '') === portName && (x.protocol ?? 'TCP') === protocol);
      if (!sp || !sp.port) continue;
      for (const ep of sl.endpoints ?? []) {
        if (ep.conditions?.ready === false) continue;
        for (const ip of ep.addresses ?? []) {
          const k = `${ip}:${sp.port}`;
          if (seen.has(k)) continue;
          seen.add(k);
          endpoints.push({ ip, port: sp.port, local: ep.nodeName === nodeName });
        }
      }
    }
    endpoints.sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1));
    const key = `${ns}/${name}:${portName}/${protocol}`;
    const entry: Omit<ServicePort, 'signature' | 'id'> = {
      key,
      namespace: ns,
      service: name,
      portName,
      protocol,
      clusterIPs,
      port: p.port,
      nodePort: spec.type === 'NodePort' || spec.type === 'LoadBalancer' ? p.nodePort : undefined,
      externalIPs: spec.externalIPs ?? [],
      affinityTimeoutSeconds:
        spec.sessionAffinity === 'ClientIP'
          ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800)
          : undefined,
      externalLocal: (spec.externalTrafficPolicy ?? 'Cluster') === 'Local',
      endpoints,
    };
    out.push({ ...entry, signature: JSON.stringify(entry), id: shortHash(key) });
  }
  return out;
}
