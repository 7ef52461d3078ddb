/**
 * Simulated hosts on one machine for end-to-end tests: a bridge in the test's network namespace carrying an address
 * (the "LAN" gateway), and N network namespaces, each joined to the bridge by a veth pair whose inner end is `eth0`
 * with an address of the bridge's /24 and a default route via the bridge address. `teardown()` removes the
 * namespaces, veths and bridge, also when creation failed half way, and again at process exit as a last resort.
 * Needs root and iproute2; processes enter a host with `nsenter --net=<netnsPath>` (not `ip netns exec`, which
 * remounts /sys and hides the cgroup mounts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface LabHost {
  /** the network namespace's name (`ip netns`) */
  netns: string;
  /** /run/netns/<netns>, for nsenter --net= */
  netnsPath: string;
  /** the host's address on the lab network (its eth0) */
  ip: string;
  /** the veth end attached to the bridge, in the test's namespace */
  hostVeth: string;
}

export interface NetnsLab {
  id: string;
  bridge: string;
  /** the bridge's own address: the default gateway of every host, and how hosts reach servers of the test */
  bridgeIP: string;
  /** the lab network, a.b.c.0/24 */
  subnet: string;
  hosts: LabHost[];
  /** argv prefix that runs a command inside a host's network namespace */
  enter(host: LabHost): string[];
  /** runs a command inside a host's network namespace; throws with its output when it fails */
  exec(host: LabHost, argv: string[]): string;
  /** pids of the processes living in a host's network namespace */
  pids(host: LabHost): string[];
  /** removes everything the lab created; returns what could not be removed (empty when all is gone) */
  teardown(): string[];
}

/** why a lab cannot be built here ('' when it can) */
export function netnsLabMissing(): string {
  if (process.getuid?.() !== 0) return 'not root';
  for (const [bin, pkg] of [
    ['/usr/bin/nsenter', 'util-linux'],
    ['/usr/sbin/ip', 'iproute2'],
  ] as const) {
    const alt = bin.replace('/usr/', '/');
    if (!existsSync(bin) && !existsSync(alt)) return `${bin} is missing (apt-get install -y ${pkg})`;
  }
  return '';
}

function ip(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim() };
}

function ipOk(args: string[]): string {
  const r = ip(args);
  if (!r.ok) throw new Error(`ip ${args.join(' ')} failed: ${r.out}`);
  return r.out;
}

function toInt(addr: string): number {
  return addr.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** [first, last] addresses of a CIDR (a bare address is a /32) */
function bounds(cidr: string): [number, number] {
  const [addr, bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const first = Math.floor(toInt(addr) / size) * size;
  return [first, first + size - 1];
}

export function cidrsOverlap(a: string, b: string): boolean {
  const [a0, a1] = bounds(a);
  const [b0, b1] = bounds(b);
  return a0 <= b1 && b0 <= a1;
}

/** every IPv4 range the test's namespace has an address in or a route to (the default route excluded) */
export function usedIPv4Ranges(): string[] {
  const out: string[] = [];
  for (const line of ipOk(['-4', '-o', 'addr', 'show']).split('\n')) {
    const m = /\binet (\d+\.\d+\.\d+\.\d+\/\d+)/.exec(line);
    if (m) out.push(m[1]);
  }
  for (const line of ipOk(['-4', 'route', 'show', 'table', 'all']).split('\n')) {
    const first = line.trim().split(/\s+/);
    const dst = ['local', 'broadcast', 'unicast', 'blackhole', 'unreachable', 'prohibit'].includes(first[0])
      ? first[1]
      : first[0];
    if (dst && /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(dst)) out.push(dst);
  }
  return out;
}

/** the first candidate (made by `make`, tried up to `tries` times) that overlaps no range in use here */
export function freeRange(make: () => string, tries = 50): string {
  const used = usedIPv4Ranges();
  for (let i = 0; i < tries; i++) {
    const c = make();
    if (!used.some((u) => cidrsOverlap(u, c))) return c;
  }
  throw new Error(`no free IPv4 range found in ${tries} tries; ranges in use: ${used.join(', ')}`);
}

const live = new Set<NetnsLab>();
process.on('exit', () => {
  for (const lab of live) lab.teardown();
});

/**
 * Builds the lab. `id` (letters and digits, at most 6) makes every name unique to this run; `subnet` (a /24) is
 * picked among unused 172.16.0.0/12 ranges when not given.
 */
export function createNetnsLab(opts: { hosts: number; id?: string; subnet?: string; mtu?: number }): NetnsLab {
  const id = opts.id ?? Math.random().toString(36).slice(2, 8);
  if (!/^[a-z0-9]{1,6}$/.test(id))
    throw new Error(
      `lab id "${id}": use 1 to 6 lower-case letters or digits (interface names are limited to 15 characters)`,
    );
  if (opts.hosts < 1 || opts.hosts > 200) throw new Error(`hosts: ${opts.hosts} is not between 1 and 200`);
  const subnet =
    opts.subnet ??
    freeRange(() => `172.${16 + Math.floor(Math.random() * 16)}.${Math.floor(Math.random() * 256)}.0/24`);
  if (!/^\d+\.\d+\.\d+\.0\/24$/.test(subnet))
    throw new Error(`subnet "${subnet}": a /24 such as 172.20.5.0/24 is needed`);
  const base = subnet.slice(0, subnet.lastIndexOf('.'));
  const mtu = String(opts.mtu ?? 1500);
  const bridge = `smb${id}`;
  const bridgeIP = `${base}.1`;
  const hosts: LabHost[] = Array.from({ length: opts.hosts }, (_, i) => ({
    netns: `skiff-lab-${id}-${i}`,
    netnsPath: `/run/netns/skiff-lab-${id}-${i}`,
    ip: `${base}.${i + 2}`,
    hostVeth: `smv${id}${i}`,
  }));
  const links = () =>
    new Set(
      ip(['-o', 'link', 'show'])
        .out.split('\n')
        .map((l) => l.split(':')[1]?.trim().split('@')[0]),
    );
  let torn = false;
  const lab: NetnsLab = {
    id,
    bridge,
    bridgeIP,
    subnet,
    hosts,
    enter: (h) => ['nsenter', `--net=${h.netnsPath}`, '--'],
    exec(h, argv) {
      const r = spawnSync('nsenter', [`--net=${h.netnsPath}`, '--', ...argv], { encoding: 'utf8' });
      if (r.status !== 0)
        throw new Error(
          `${argv.join(' ')} in ${h.netns} failed (${r.status ?? r.error?.message}): ${r.stderr}${r.stdout}`,
        );
      return r.stdout;
    },
    pids(h) {
      if (!existsSync(h.netnsPath)) return [];
      return ip(['netns', 'pids', h.netns])
        .out.split('\n')
        .filter((l) => /^\d+$/.test(l));
    },
    teardown() {
      if (!torn) {
        torn = true;
        live.delete(lab);
      }
      for (const h of hosts) if (existsSync(h.netnsPath)) ip(['netns', 'del', h.netns]);
      const present = links();
      for (const h of hosts) if (present.has(h.hostVeth)) ip(['link', 'del', h.hostVeth]);
      if (present.has(bridge)) ip(['link', 'del', bridge]);
      const after = links();
      return [
        ...hosts.filter((h) => existsSync(h.netnsPath)).map((h) => `network namespace ${h.netns}`),
        ...hosts.filter((h) => after.has(h.hostVeth)).map((h) => `veth ${h.hostVeth}`),
        ...(after.has(bridge) ? [`bridge ${bridge}`] : []),
      ];
    },
  };
  live.add(lab);
  try {
    ipOk(['link', 'add', bridge, 'mtu', mtu, 'type', 'bridge']);
    ipOk(['addr', 'add', `${bridgeIP}/24`, 'dev', bridge]);
    ipOk(['link', 'set', bridge, 'up']);
    for (const [i, h] of hosts.entries()) {
      const peer = `smp${id}${i}`;
      ipOk(['netns', 'add', h.netns]);
      ipOk(['link', 'add', h.hostVeth, 'mtu', mtu, 'type', 'veth', 'peer', 'name', peer, 'mtu', mtu]);
      ipOk(['link', 'set', peer, 'netns', h.netns]);
      ipOk(['link', 'set', h.hostVeth, 'master', bridge]);
      ipOk(['link', 'set', h.hostVeth, 'up']);
      ipOk(['-n', h.netns, 'link', 'set', peer, 'name', 'eth0']);
      ipOk(['-n', h.netns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0']);
      ipOk(['-n', h.netns, 'link', 'set', 'eth0', 'up']);
      ipOk(['-n', h.netns, 'link', 'set', 'lo', 'up']);
      ipOk(['-n', h.netns, 'route', 'add', 'default', 'via', bridgeIP]);
    }
  } catch (e) {
    const left = lab.teardown();
    throw new Error(`${(e as Error).message}${left.length ? `; also left behind: ${left.join(', ')}` : ''}`, {
      cause: e,
    });
  }
  return lab;
}
