/**
 * Service ClusterIP and NodePort allocation. Every allocated IP or port is a key in the store
 * (/registry/ranges/serviceips/<ip>, /registry/ranges/servicenodeports/<port>) created atomically, so the same
 * address is never handed out twice, even by several API servers sharing one etcd. A repair pass at start-up frees
 * keys whose Service is gone (a crash between reserving and writing the Service).
 */
import type { Backend } from './storage/backend.ts';
import type { FieldError } from './api/field-error.ts';

const IP_PREFIX = '/registry/ranges/serviceips/';
const PORT_PREFIX = '/registry/ranges/servicenodeports/';

export class AllocationError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
    message: string,
  ) {
    super(message);
  }
  toFieldError(): FieldError {
    return { type: 'FieldValueInvalid', field: this.field, value: this.value, detail: this.message };
  }
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}
function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(cidr: string): { base: number; size: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  if (!m) throw new Error(`invalid CIDR "${cidr}": expected an IPv4 CIDR such as 10.96.0.0/12`);
  const bits = Number(m[2]);
  const size = 2 ** (32 - bits);
  const base = ipToInt(m[1]) - (ipToInt(m[1]) % size);
  return { base, size };
}

export class ServiceAllocator {
  private readonly cidr: { base: number; size: number };
  constructor(
    private readonly backend: Backend,
    readonly serviceCidr = '10.96.0.0/12',
    readonly nodePortRange: [number, number] = [30000, 32767],
  ) {
    this.cidr = parseCidr(serviceCidr);
  }

  /** the first usable address: the kubernetes Service's ClusterIP */
  get firstIp(): string {
    return intToIp(this.cidr.base + 1);
  }

  inRange(ip: string): boolean {
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
    const n = ipToInt(ip);
    return n > this.cidr.base && n < this.cidr.base + this.cidr.size - 1;
  }

  private async reserve(prefix: string, value: string, owner: string): Promise<boolean> {
    const res = await this.backend.create(prefix + value, JSON.stringify({ owner }));
    return res.ok;
  }

  async allocateIp(owner: string, wanted?: string): Promise<string> {
    if (wanted) {
      if (!this.inRange(wanted)) {
        throw new AllocationError(
          'spec.clusterIPs',
          [wanted],
          `failed to allocate IP ${wanted}: provided IP is not in the valid range. The range of valid IPs is ${this.serviceCidr}`,
        );
      }
      if (!(await this.reserve(IP_PREFIX, wanted, owner))) {
        throw new AllocationError(
          'spec.clusterIPs',
          [wanted],
          `failed to allocate IP ${wanted}: provided IP is already allocated`,
        );
      }
      return wanted;
    }
    const usable = this.cidr.size - 2;
    const start = Math.floor(Math.random() * usable);
    for (let i = 0; i < Math.min(usable, 4096); i++) {
      const ip = intToIp(this.cidr.base + 1 + ((start + i) % usable));
      if (ip === this.firstIp && owner !== 'default/kubernetes') continue;
      if (await this.reserve(IP_PREFIX, ip, owner)) return ip;
    }
    throw new AllocationError('spec.clusterIPs', [], `failed to allocate a serviceIP: range is full`);
  }

  /** a NodePort: `wanted` if free, else any free one; `field` names the port in errors (spec.ports[i].nodePort) */
  async allocatePort(owner: string, wanted?: number, field = 'spec.ports[*].nodePort'): Promise<number> {
    const [lo, hi] = this.nodePortRange;
    if (wanted) {
      if (wanted < lo || wanted > hi) {
        throw new AllocationError(
          field,
          wanted,
          `provided port is not in the valid range. The range of valid ports is ${lo}-${hi}`,
        );
      }
      if (!(await this.reserve(PORT_PREFIX, String(wanted), owner))) {
        throw new AllocationError(field, wanted, `provided port is already allocated`);
      }
      return wanted;
    }
    const n = hi - lo + 1;
    const start = Math.floor(Math.random() * n);
    for (let i = 0; i < n; i++) {
      const p = lo + ((start + i) % n);
      if (await this.reserve(PORT_PREFIX, String(p), owner)) return p;
    }
    throw new AllocationError(field, 0, 'range is full');
  }

  async releaseIp(ip: string): Promise<void> {
    await this.backend.delete(IP_PREFIX + ip);
  }

  async releasePort(port: number): Promise<void> {
    await this.backend.delete(PORT_PREFIX + String(port));
  }

  /** free reservations whose Service no longer exists or no longer uses them */
  async repair(services: Iterable<any>): Promise<number> {
    const ips = new Set<string>();
    const ports = new Set<string>();
    for (const s of services) {
      for (const ip of s.spec?.clusterIPs ?? (s.spec?.clusterIP ? [s.spec.clusterIP] : [])) ips.add(ip);
      for (const p of s.spec?.ports ?? []) if (p.nodePort) ports.add(String(p.nodePort));
    }
    let freed = 0;
    for (const [prefix, used] of [
      [IP_PREFIX, ips],
      [PORT_PREFIX, ports],
    ] as const) {
      const { kvs } = await this.backend.list(prefix);
      for (const kv of kvs) {
        if (!used.has(kv.key.slice(prefix.length))) {
          await this.backend.delete(kv.key, kv.modRevision);
          freed++;
        }
      }
    }
    return freed;
  }
}

/** what the Service strategy asks of allocation: reserve on create and update (released if the write fails), free on delete */
export interface ServiceAllocations {
  beforeCreate(svc: any, dryRun: boolean): Promise<() => Promise<void>>;
  beforeUpdate(svc: any, old: any, dryRun: boolean): Promise<() => Promise<void>>;
  afterDelete(svc: any): Promise<void>;
}

/** the allocations that give Services their ClusterIP and NodePorts */
export function serviceAllocations(
  alloc: ServiceAllocator,
  invalid: (obj: any, errs: FieldError[]) => Error,
): ServiceAllocations {
  const needsNodePorts = (svc: any) => svc.spec?.type === 'NodePort' || svc.spec?.type === 'LoadBalancer';

  async function allocateFor(svc: any, old: any | undefined, dryRun: boolean): Promise<() => Promise<void>> {
    const owner = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const newIps: string[] = [];
    const newPorts: number[] = [];
    const rollback = async () => {
      if (dryRun) return;
      for (const ip of newIps) await alloc.releaseIp(ip);
      for (const p of newPorts) await alloc.releasePort(p);
    };
    try {
      const spec = (svc.spec ??= {});
      if (spec.type === 'ExternalName') {
        delete spec.clusterIP;
        delete spec.clusterIPs;
      } else if (old && old.spec?.clusterIP) {
        if (spec.clusterIP === undefined || spec.clusterIP === '') spec.clusterIP = old.spec.clusterIP;
        spec.clusterIPs = old.spec.clusterIPs ?? [old.spec.clusterIP];
      } else if (spec.clusterIP !== 'None') {
        const wanted = spec.clusterIP || spec.clusterIPs?.[0] || undefined;
        const ip = dryRun ? (wanted ?? alloc.firstIp) : await alloc.allocateIp(owner, wanted);
        if (!dryRun) newIps.push(ip);
        spec.clusterIP = ip;
        spec.clusterIPs = [ip];
      } else {
        spec.clusterIPs = ['None'];
      }
      if (needsNodePorts(svc)) {
        const oldPorts = new Map<string, number>();
        for (const p of old?.spec?.ports ?? [])
          if (p.nodePort) oldPorts.set(`${p.protocol ?? 'TCP'}/${p.port}`, p.nodePort);
        for (const [i, p] of (spec.ports ?? []).entries()) {
          const prev = oldPorts.get(`${p.protocol ?? 'TCP'}/${p.port}`);
          if (p.nodePort && p.nodePort === prev) continue;
          if (!p.nodePort && prev) {
            p.nodePort = prev;
            continue;
          }
          const port = dryRun
            ? (p.nodePort ?? 0)
            : await alloc.allocatePort(owner, p.nodePort || undefined, `spec.ports[${i}].nodePort`);
          if (!dryRun) newPorts.push(port);
          if (port) p.nodePort = port;
        }
      } else {
        for (const p of spec.ports ?? []) delete p.nodePort;
      }
    } catch (e) {
      await rollback();
      if (e instanceof AllocationError) throw invalid(svc, [e.toFieldError()]);
      throw e;
    }
    return rollback;
  }

  return {
    beforeCreate: (obj, dryRun) => allocateFor(obj, undefined, dryRun),
    beforeUpdate: (obj, old, dryRun) => allocateFor(obj, old, dryRun),
    async afterDelete(obj) {
      for (const ip of obj.spec?.clusterIPs ?? []) if (ip !== 'None') await alloc.releaseIp(ip);
      for (const p of obj.spec?.ports ?? []) if (p.nodePort) await alloc.releasePort(p.nodePort);
    },
  };
}
