/**
 * The cluster's DNS records, per Kubernetes' DNS specification, kept as indexes updated by Service and EndpointSlice
 * events so a query is a few map lookups:
 *   <svc>.<ns>.svc.<zone>             A/AAAA: the ClusterIP; headless: the ready endpoint addresses; ExternalName: CNAME
 *   <host>.<svc>.<ns>.svc.<zone>      A: an endpoint with a hostname (pods with hostname + subdomain)
 *   _<port>._<proto>.<svc>.<ns>.svc.<zone>  SRV per named port (headless: one per endpoint)
 *   <a-b-c-d>.<ns>.pod.<zone>         A: the address the name spells
 *   reverse names                     PTR: ClusterIPs and named endpoints
 * Names in the zone that match nothing are NXDOMAIN; a name with other types only answers no data.
 */
import type { EndpointSlice, Service } from '../objects.ts';

export const TTL = 5;

export type RecordType = 'A' | 'AAAA' | 'SRV' | 'PTR' | 'CNAME' | 'TXT';

export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

/** a record: SRV carries its fields, every other type a name or an address */
export type Rr = { name: string; ttl: number } & (
  { type: 'SRV'; data: SrvData } | { type: Exclude<RecordType, 'SRV'>; data: string }
);

export interface Answer {
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: Rr[];
  additionals: Rr[];
}

interface ServiceEntry {
  ns: string;
  name: string;
  clusterIPs: string[];
  headless: boolean;
  externalName?: string;
  ports: { name: string; protocol: string; port: number }[];
  publishNotReady: boolean;
}

interface EndpointEntry {
  ip: string;
  hostname?: string;
  ready: boolean;
  ports: { name: string; protocol: string; port: number }[];
}

const lower = (s: string) => s.toLowerCase();

export function reverseName(ip: string): string | undefined {
  if (ip.includes('.')) return ip.split('.').reverse().join('.') + '.in-addr.arpa';
  if (!ip.includes(':')) return undefined;
  // full form of an IPv6 address, nibble by nibble
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) => g.padStart(4, '0'));
  return groups.join('').split('').reverse().join('.') + '.ip6.arpa';
}

export class ClusterRecords {
  /** ns/name -> service */
  private readonly services = new Map<string, ServiceEntry>();
  /** slice key -> service key and endpoints */
  private readonly slices = new Map<string, { svc: string; endpoints: EndpointEntry[] }>();
  /** service key -> slice keys */
  private readonly slicesOf = new Map<string, Set<string>>();
  /** reverse name -> PTR targets */
  private readonly ptr = new Map<string, Set<string>>();
  /** namespace -> how many services it holds */
  private readonly namespaces = new Map<string, number>();
  readonly zone: string;
  /** bumped on every change: answers computed before are stale */
  version = 0;

  constructor(zone = 'cluster.local') {
    this.zone = lower(zone.replace(/\.$/, ''));
  }

  // ---- updates from informers

  upsertService(svc: Service): void {
    this.version++;
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const old = this.services.get(key);
    if (old) this.unindexServicePtr(old);
    const ips = (svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : [])).filter(
      (ip) => ip && ip !== 'None',
    );
    const e: ServiceEntry = {
      ns: lower(svc.metadata.namespace!),
      name: lower(svc.metadata.name!),
      clusterIPs: ips,
      headless: svc.spec?.clusterIP === 'None',
      externalName: svc.spec?.type === 'ExternalName' ? svc.spec.externalName : undefined,
      ports: (svc.spec?.ports ?? []).map((p) => ({
        name: p.name ?? '',
        protocol: p.protocol ?? 'TCP',
        port: p.port,
      })),
      publishNotReady: !!svc.spec?.publishNotReadyAddresses,
    };
    if (!old) this.namespaces.set(e.ns, (this.namespaces.get(e.ns) ?? 0) + 1);
    this.services.set(key, e);
    this.indexServicePtr(e);
  }

  deleteService(svc: Service): void {
    this.version++;
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const old = this.services.get(key);
    if (!old) return;
    this.unindexServicePtr(old);
    this.services.delete(key);
    const n = (this.namespaces.get(old.ns) ?? 1) - 1;
    if (n > 0) this.namespaces.set(old.ns, n);
    else this.namespaces.delete(old.ns);
  }

  upsertSlice(slice: EndpointSlice): void {
    this.version++;
    const svcName = slice.metadata.labels?.['kubernetes.io/service-name'];
    if (!svcName) return;
    const key = `${slice.metadata.namespace}/${slice.metadata.name}`;
    this.deleteSlice(slice);
    const svc = `${slice.metadata.namespace}/${svcName}`;
    const ports = (slice.ports ?? []).map((p) => ({
      name: p.name ?? '',
      protocol: p.protocol ?? 'TCP',
      // a slice port without a number (every port) goes on the wire as 0
      port: p.port ?? 0,
    }));
    const endpoints: EndpointEntry[] = [];
    for (const ep of slice.endpoints ?? []) {
      const ready = ep.conditions?.ready !== false;
      for (const ip of ep.addresses ?? [])
        endpoints.push({ ip, hostname: ep.hostname ? lower(ep.hostname) : undefined, ready, ports });
    }
    this.slices.set(key, { svc, endpoints });
    let set = this.slicesOf.get(svc);
    if (!set) this.slicesOf.set(svc, (set = new Set()));
    set.add(key);
    for (const ep of endpoints)
      if (ep.hostname)
        this.addPtr(ep.ip, `${ep.hostname}.${lower(svcName)}.${lower(slice.metadata.namespace!)}.svc.${this.zone}`);
  }

  deleteSlice(slice: EndpointSlice): void {
    this.version++;
    const key = `${slice.metadata.namespace}/${slice.metadata.name}`;
    const old = this.slices.get(key);
    if (!old) return;
    const svcName = old.svc.split('/')[1];
    for (const ep of old.endpoints)
      if (ep.hostname)
        this.removePtr(ep.ip, `${ep.hostname}.${lower(svcName)}.${lower(slice.metadata.namespace!)}.svc.${this.zone}`);
    this.slices.delete(key);
    this.slicesOf.get(old.svc)?.delete(key);
  }

  private indexServicePtr(e: ServiceEntry): void {
    for (const ip of e.clusterIPs) this.addPtr(ip, `${e.name}.${e.ns}.svc.${this.zone}`);
  }

  private unindexServicePtr(e: ServiceEntry): void {
    for (const ip of e.clusterIPs) this.removePtr(ip, `${e.name}.${e.ns}.svc.${this.zone}`);
  }

  private addPtr(ip: string, target: string): void {
    const r = reverseName(ip);
    if (!r) return;
    let s = this.ptr.get(r);
    if (!s) this.ptr.set(r, (s = new Set()));
    s.add(target);
  }

  private removePtr(ip: string, target: string): void {
    const r = reverseName(ip);
    if (!r) return;
    const s = this.ptr.get(r);
    s?.delete(target);
    if (s && !s.size) this.ptr.delete(r);
  }

  // ---- queries

  /** Does this name belong to what the records answer for (the cluster zone and reverse zones)? */
  authoritative(name: string): boolean {
    const n = lower(name.replace(/\.$/, ''));
    return n === this.zone || n.endsWith('.' + this.zone) || n.endsWith('.in-addr.arpa') || n.endsWith('.ip6.arpa');
  }

  /** Reverse names of addresses the cluster does not know fall through to the upstream resolvers. */
  knownReverse(name: string): boolean {
    return this.ptr.has(lower(name.replace(/\.$/, '')));
  }

  private endpointsOf(svcKey: string, svc: ServiceEntry): EndpointEntry[] {
    const out: EndpointEntry[] = [];
    const seen = new Set<string>();
    for (const k of this.slicesOf.get(svcKey) ?? []) {
      for (const ep of this.slices.get(k)?.endpoints ?? []) {
        if ((!ep.ready && !svc.publishNotReady) || seen.has(ep.ip)) continue;
        seen.add(ep.ip);
        out.push(ep);
      }
    }
    return out;
  }

  private addr(name: string, ip: string): Rr {
    return { name, type: ip.includes(':') ? 'AAAA' : 'A', ttl: TTL, data: ip };
  }

  resolve(qname: string, qtype: string): Answer {
    const name = lower(qname.replace(/\.$/, ''));
    const none: Answer = { rcode: 'NXDOMAIN', answers: [], additionals: [] };
    const nodata: Answer = { rcode: 'NOERROR', answers: [], additionals: [] };
    if (name.endsWith('.in-addr.arpa') || name.endsWith('.ip6.arpa')) {
      const targets = this.ptr.get(name);
      if (!targets) return none;
      if (qtype !== 'PTR' && qtype !== 'ANY') return nodata;
      return {
        rcode: 'NOERROR',
        answers: [...targets].map((t) => ({ name, type: 'PTR', ttl: TTL, data: t })),
        additionals: [],
      };
    }
    if (name === this.zone) return nodata;
    if (!name.endsWith('.' + this.zone)) return none;
    const labels = name.slice(0, -(this.zone.length + 1)).split('.');
    const want = (ip: string) =>
      qtype === 'ANY' || (qtype === 'A' && !ip.includes(':')) || (qtype === 'AAAA' && ip.includes(':'));
    // <a-b-c-d>.<ns>.pod.<zone>
    if (labels.length === 3 && labels[2] === 'pod') {
      const ip =
        labels[0].includes('-') && /^[0-9-]+$/.test(labels[0])
          ? labels[0].replace(/-/g, '.')
          : labels[0].replace(/-/g, ':');
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip) && !ip.includes(':')) return none;
      return { rcode: 'NOERROR', answers: want(ip) ? [this.addr(name, ip)] : [], additionals: [] };
    }
    if (labels[labels.length - 1] !== 'svc') {
      // <ns>.pod.<zone>, pod.<zone> and svc.<zone> exist as empty non-terminals
      if (labels.join('.') === 'pod' || labels.join('.') === 'svc' || (labels.length === 2 && labels[1] === 'pod'))
        return nodata;
      return none;
    }
    const parts = labels.slice(0, -1); // without "svc"
    if (parts.length === 1) return this.namespaceExists(parts[0]) ? nodata : none;
    if (parts.length < 2) return none;
    const ns = parts[parts.length - 1];
    const svcName = parts[parts.length - 2];
    const svcKey = [...this.keysFor(ns, svcName)][0];
    const svc = svcKey ? this.services.get(svcKey) : undefined;
    if (!svc) return none;
    const svcFqdn = `${svc.name}.${svc.ns}.svc.${this.zone}`;
    const rest = parts.slice(0, -2);
    if (rest.length === 0) {
      if (svc.externalName) {
        const cname: Rr = { name, type: 'CNAME', ttl: TTL, data: svc.externalName.replace(/\.$/, '') };
        return {
          rcode: 'NOERROR',
          answers: qtype === 'A' || qtype === 'AAAA' || qtype === 'CNAME' || qtype === 'ANY' ? [cname] : [],
          additionals: [],
        };
      }
      if (qtype === 'SRV') return this.srv(name, svcKey!, svc, undefined, undefined);
      const ips = svc.headless ? this.endpointsOf(svcKey!, svc).map((e) => e.ip) : svc.clusterIPs;
      return { rcode: 'NOERROR', answers: ips.filter(want).map((ip) => this.addr(name, ip)), additionals: [] };
    }
    if (rest.length === 1 && !rest[0].startsWith('_')) {
      // <hostname>.<svc>.<ns>.svc.<zone>: an endpoint of a headless service
      const eps = this.endpointsOf(svcKey!, svc).filter(
        (e) => e.hostname === rest[0] || e.ip.replace(/[.:]/g, '-') === rest[0],
      );
      if (!eps.length) return none;
      return {
        rcode: 'NOERROR',
        answers: eps
          .map((e) => e.ip)
          .filter(want)
          .map((ip) => this.addr(name, ip)),
        additionals: [],
      };
    }
    if (rest.length === 2 && rest[0].startsWith('_') && rest[1].startsWith('_')) {
      const portName = rest[0].slice(1);
      const proto = rest[1].slice(1).toUpperCase();
      const port = svc.ports.find((p) => lower(p.name) === portName && p.protocol === proto);
      if (!port) return none;
      if (qtype !== 'SRV' && qtype !== 'ANY') return nodata;
      return this.srv(name, svcKey!, svc, portName, proto, svcFqdn);
    }
    return none;
  }

  private srv(
    name: string,
    svcKey: string,
    svc: ServiceEntry,
    portName: string | undefined,
    proto: string | undefined,
    svcFqdn = `${svc.name}.${svc.ns}.svc.${this.zone}`,
  ): Answer {
    const matches = (p: { name: string; protocol: string }) =>
      portName === undefined || (lower(p.name) === portName && p.protocol === proto);
    const answers: Rr[] = [];
    const additionals: Rr[] = [];
    if (!svc.headless) {
      for (const p of svc.ports.filter(matches))
        answers.push({
          name,
          type: 'SRV',
          ttl: TTL,
          data: { priority: 0, weight: 100, port: p.port, target: svcFqdn },
        });
      for (const ip of svc.clusterIPs) additionals.push(this.addr(svcFqdn, ip));
      return { rcode: 'NOERROR', answers, additionals };
    }
    for (const e of this.endpointsOf(svcKey, svc)) {
      const host = `${e.hostname ?? e.ip.replace(/[.:]/g, '-')}.${svcFqdn}`;
      for (const p of e.ports.filter(matches))
        answers.push({ name, type: 'SRV', ttl: TTL, data: { priority: 0, weight: 100, port: p.port, target: host } });
      additionals.push(this.addr(host, e.ip));
    }
    return { rcode: 'NOERROR', answers, additionals };
  }

  private keysFor(ns: string, name: string): Set<string> {
    // service names and namespaces are lowercase DNS labels already; the key is their exact text
    const k = `${ns}/${name}`;
    return this.services.has(k) ? new Set([k]) : new Set();
  }

  private namespaceExists(ns: string): boolean {
    // <ns>.svc.<zone>: answered as an empty non-terminal when some service lives there
    return this.namespaces.has(ns);
  }
}
