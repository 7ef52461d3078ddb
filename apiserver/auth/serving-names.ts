/** The names and addresses the API server's serving certificate must be valid for. */
import os from 'node:os';
import net from 'node:net';

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';

/** the in-cluster names of the API server's Service, as Kubernetes puts them in its serving certificate */
export const KUBERNETES_SERVICE_NAMES = [
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];

export interface ServingNames {
  dns: string[];
  ips: string[];
}

/**
 * localhost, the host name, every address of the host (loopback included), the Service names, the first IP of the
 * service CIDR and any extra names or addresses; duplicates removed, DNS names lower-cased.
 */
export function servingNames(opts: { extraSans?: string[]; serviceCidr?: string } = {}): ServingNames {
  const dns = new Set<string>(['localhost', ...KUBERNETES_SERVICE_NAMES]);
  const ips = new Set<string>(['127.0.0.1', '::1']);
  const host = os.hostname().trim().toLowerCase();
  if (host && net.isIP(host) === 0) dns.add(host);
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal) ips.add(a.address);
  }
  ips.add(firstServiceIp(opts.serviceCidr ?? DEFAULT_SERVICE_CIDR));
  for (const raw of opts.extraSans ?? []) {
    const san = raw.trim();
    if (!san) continue;
    if (net.isIP(san)) ips.add(san);
    else if (isDnsName(san)) dns.add(san.toLowerCase());
    else
      throw new Error(
        `extra SAN '${raw}' is neither an IP address nor a DNS name (letters, digits, '-', '.', optional leading '*.')`,
      );
  }
  return { dns: [...dns], ips: [...ips] };
}

/** the first usable address of a CIDR (network address + 1), e.g. 10.96.0.0/12 -> 10.96.0.1 */
export function firstServiceIp(cidr: string): string {
  const [addr, bitsText] = cidr.split('/');
  const family = net.isIP(addr ?? '');
  const bits = Number(bitsText);
  const width = family === 4 ? 32 : 128;
  if (!family || !Number.isInteger(bits) || bits < 0 || bits > width - 1) {
    throw new Error(`invalid service CIDR '${cidr}': expected e.g. 10.96.0.0/12 or fd00:10:96::/112`);
  }
  const value = ipToBigInt(addr!, family);
  const mask = ((1n << BigInt(width)) - 1n) ^ ((1n << BigInt(width - bits)) - 1n);
  return bigIntToIp((value & mask) + 1n, family);
}

function isDnsName(s: string): boolean {
  return (
    s.length <= 253 &&
    /^(\*\.)?[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/.test(s)
  );
}

function ipToBigInt(ip: string, family: number): bigint {
  if (family === 4) return ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  if (ip.includes('.')) throw new Error(`IPv6 address with an embedded IPv4 part is not supported here: ${ip}`);
  const [head = '', tail] = ip.split('::');
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - headParts.length - tailParts.length).fill('0');
  return [...headParts, ...zeros, ...tailParts].reduce((acc, h) => (acc << 16n) | BigInt(parseInt(h, 16)), 0n);
}

function bigIntToIp(value: bigint, family: number): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 0xffn).toString()).join('.');
  const hextets: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) hextets.push(((value >> s) & 0xffffn).toString(16));
  return new URL(`http://[${hextets.join(':')}]/`).hostname.slice(1, -1); // the URL parser writes the canonical form
}
