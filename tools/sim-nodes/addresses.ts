/**
 * IPv4 addresses of simulated nodes and their pods: a node's InternalIP, and pod IPs from its podCIDR (or, before
 * node IPAM gives it one, from a fallback /24 of 172.16.0.0/12 chosen by the node's number).
 */

export function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`"${ip}" is not an IPv4 address`);
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function intToIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export interface Cidr {
  base: number;
  size: number;
}

/** "10.244.3.0/24" as its first address and size; undefined for anything else (IPv6 included) */
export function parseCidr(cidr: string | undefined): Cidr | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr ?? '');
  if (!m) return undefined;
  const bits = Number(m[2]);
  if (bits < 8 || bits > 30) return undefined;
  const size = 2 ** (32 - bits);
  let base: number;
  try {
    base = ipToInt(m[1]);
  } catch {
    return undefined;
  }
  return { base: base - (base % size), size };
}

/** a small stable hash of a string (FNV-1a) */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

const NODE_NET = ipToInt('192.168.0.0');
const FALLBACK_POD_NET = ipToInt('172.16.0.0');

/**
 * The InternalIP of node `index` of a simulator whose names start with `prefix`: 192.168.0.0/16 split in 8 blocks
 * of 8192 addresses, the block chosen by the prefix, so that two simulators side by side rarely share addresses.
 */
export function nodeAddress(prefix: string, index: number): string {
  const block = hash32(prefix) % 8;
  return intToIp(NODE_NET + block * 8192 + ((index % 8190) + 1));
}

/** the /24 pods of node `index` use until the node has a podCIDR */
export function fallbackPodCidr(prefix: string, index: number): Cidr {
  const slot = (hash32(prefix) + index) % 4096;
  return { base: FALLBACK_POD_NET + slot * 256, size: 256 };
}

/**
 * Pod IPs of one node: the next free host address of its CIDR, round robin (the first, .1, is the gateway, as bridge
 * plugins use it). Released when the pod goes.
 */
export class PodIpPool {
  private readonly used = new Set<number>();
  private next = 2;

  constructor(private cidr: Cidr) {}

  /** switches to another CIDR (node IPAM assigned one); addresses already handed out stay with their pods */
  setCidr(cidr: Cidr): void {
    if (cidr.base === this.cidr.base && cidr.size === this.cidr.size) return;
    this.cidr = cidr;
    this.used.clear();
    this.next = 2;
  }

  contains(ip: string): boolean {
    const n = ipToInt(ip);
    return n >= this.cidr.base && n < this.cidr.base + this.cidr.size;
  }

  /** marks an address as taken (a pod that already has it) */
  reserve(ip: string): void {
    if (this.contains(ip)) this.used.add(ipToInt(ip) - this.cidr.base);
  }

  release(ip: string): void {
    if (this.contains(ip)) this.used.delete(ipToInt(ip) - this.cidr.base);
  }

  /** a free address; when every one is taken, addresses are reused (a simulator has no real network) */
  allocate(): string {
    const hosts = this.cidr.size - 2;
    for (let tries = 0; tries < hosts; tries++) {
      const off = this.next;
      this.next = this.next + 1 >= this.cidr.size - 1 ? 2 : this.next + 1;
      if (!this.used.has(off)) {
        this.used.add(off);
        return intToIp(this.cidr.base + off);
      }
    }
    return intToIp(this.cidr.base + 2 + Math.floor(Math.random() * hosts));
  }
}
