/**
 * A set of equal-size IPv4 subnets cut from a cluster CIDR (a /16 into /24s), handing out the next free one after
 * the last given, wrapping around at the end, so that a released subnet is reused only after the others.
 */
export class CidrSet {
  private readonly base: number;
  private readonly count: number;
  private readonly step: number;
  private readonly used: Uint8Array;
  private next = 0;
  private free: number;

  constructor(
    readonly clusterCIDR: string,
    readonly maskSize: number,
  ) {
    const { ip, prefix } = parseCidr(clusterCIDR);
    if (maskSize < prefix || maskSize > 32) {
      throw new Error(
        `node CIDR mask size ${maskSize} does not fit cluster CIDR ${clusterCIDR}: it must be between ${prefix} and 32`,
      );
    }
    if (maskSize - prefix > 24)
      throw new Error(
        `cluster CIDR ${clusterCIDR} cut at /${maskSize} gives more than 2^24 node ranges: use a larger node mask size`,
      );
    this.base = prefix === 0 ? 0 : (ip & (~0 << (32 - prefix))) >>> 0;
    this.count = 2 ** (maskSize - prefix);
    this.step = 2 ** (32 - maskSize);
    this.used = new Uint8Array(this.count);
    this.free = this.count;
  }

  /** the next free subnet, or undefined when all are taken */
  allocate(): string | undefined {
    if (this.free === 0) return undefined;
    for (let i = 0; i < this.count; i++) {
      const idx = (this.next + i) % this.count;
      if (!this.used[idx]) {
        this.used[idx] = 1;
        this.free--;
        this.next = (idx + 1) % this.count;
        return this.cidrAt(idx);
      }
    }
    return undefined;
  }

  /** marks a subnet taken (a node that already has it); false when it is not one of this set's subnets */
  occupy(cidr: string): boolean {
    const idx = this.indexOf(cidr);
    if (idx === undefined) return false;
    if (!this.used[idx]) {
      this.used[idx] = 1;
      this.free--;
    }
    return true;
  }

  release(cidr: string): void {
    const idx = this.indexOf(cidr);
    if (idx === undefined || !this.used[idx]) return;
    this.used[idx] = 0;
    this.free++;
  }

  private cidrAt(idx: number): string {
    return `${formatIp((this.base + idx * this.step) >>> 0)}/${this.maskSize}`;
  }

  private indexOf(cidr: string): number | undefined {
    let parsed;
    try {
      parsed = parseCidr(cidr);
    } catch {
      return undefined;
    }
    if (parsed.prefix !== this.maskSize) return undefined;
    const off = parsed.ip - this.base;
    if (off < 0 || off % this.step !== 0) return undefined;
    const idx = off / this.step;
    return idx < this.count ? idx : undefined;
  }
}

export function parseCidr(cidr: string): { ip: number; prefix: number } {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr.trim());
  if (!m) throw new Error(`"${cidr}" is not an IPv4 CIDR such as 10.244.0.0/16`);
  const parts = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (parts.some((p) => p > 255) || prefix > 32) throw new Error(`"${cidr}" is not an IPv4 CIDR such as 10.244.0.0/16`);
  return { ip: ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0, prefix };
}

function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
