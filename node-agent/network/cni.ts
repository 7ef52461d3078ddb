/**
 * Pod networking on the node: the CNI configuration for the node's pod CIDR (bridge + host-local IPAM, portmap,
 * loopback; containerd runs the plugins), masquerading of traffic leaving the cluster network, and host-gw routes:
 * every other node's pod CIDR through that node's address, so pods on different nodes talk directly.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Node } from '../objects.ts';

const run = promisify(execFile);

export const BRIDGE = 'skiff0';
export const CONFLIST = '10-skiff.conflist';
export const MASQ_CHAIN = 'SKIFF-POSTROUTING';

/** the masquerade chain of a bridge: one per bridge, so several nodes can share one network namespace in tests */
export function masqChain(bridge: string): string {
  return bridge === BRIDGE ? MASQ_CHAIN : `SKIFF-MASQ-${bridge}`.slice(0, 28);
}

export interface CniOptions {
  confDir: string;
  /** host-local IPAM state */
  ipamDir: string;
  podCIDR: string;
  mtu?: number;
  bridge?: string;
}

/** MTU of the interface of the default route (1500 when unknown) */
export function defaultRouteMtu(): number {
  try {
    const route = readFileSync('/proc/net/route', 'utf8')
      .split('\n')
      .slice(1)
      .find((l) => l.split(/\s+/)[1] === '00000000');
    const iface = route?.split(/\s+/)[0];
    if (iface) return Number(readFileSync(`/sys/class/net/${iface}/mtu`, 'utf8').trim()) || 1500;
  } catch {
    /* unknown */
  }
  return 1500;
}

export function cniConflist(o: CniOptions): object {
  return {
    cniVersion: '0.4.0',
    name: 'skiff',
    plugins: [
      {
        type: 'bridge',
        bridge: o.bridge ?? BRIDGE,
        isGateway: true,
        // masquerading is the agent's own rule: traffic between pods of different nodes keeps its source address
        ipMasq: false,
        hairpinMode: true,
        mtu: o.mtu ?? defaultRouteMtu(),
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: o.podCIDR }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: o.ipamDir,
        },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      { type: 'loopback' },
    ],
  };
}

/** Writes the configuration (atomically: containerd watches the folder). */
export function writeCniConfig(o: CniOptions): void {
  mkdirSync(o.confDir, { recursive: true });
  mkdirSync(o.ipamDir, { recursive: true });
  const file = path.join(o.confDir, CONFLIST);
  const tmp = file + '.tmp';
  writeFileSync(tmp, JSON.stringify(cniConflist(o), null, 2));
  renameSync(tmp, file);
}

async function iptables(args: string[]): Promise<{ ok: boolean; stderr: string }> {
  try {
    await run('iptables', ['-w', '5', ...args]);
    return { ok: true, stderr: '' };
  } catch (e) {
    return { ok: false, stderr: String((e as { stderr?: string }).stderr ?? (e as Error).message) };
  }
}

/** Masquerades traffic from this node's pods to anywhere outside the cluster's pod network. */
export async function ensureMasquerade(podCIDR: string, clusterCIDR: string, chain = MASQ_CHAIN): Promise<void> {
  await iptables(['-t', 'nat', '-N', chain]);
  await iptables(['-t', 'nat', '-F', chain]);
  const r = await iptables([
    '-t',
    'nat',
    '-A',
    chain,
    '-s',
    podCIDR,
    '!',
    '-d',
    clusterCIDR,
    '-m',
    'comment',
    '--comment',
    'skiff: pods to outside the cluster',
    '-j',
    'MASQUERADE',
  ]);
  if (!r.ok)
    throw new Error(
      `iptables: cannot add the masquerade rule: ${r.stderr.trim()} (is iptables installed? apt-get install -y iptables)`,
    );
  const has = await iptables(['-t', 'nat', '-C', 'POSTROUTING', '-j', chain]);
  if (!has.ok) await iptables(['-t', 'nat', '-A', 'POSTROUTING', '-j', chain]);
}

export async function removeMasquerade(chain = MASQ_CHAIN): Promise<void> {
  while ((await iptables(['-t', 'nat', '-D', 'POSTROUTING', '-j', chain])).ok) {
    /* remove every jump */
  }
  await iptables(['-t', 'nat', '-F', chain]);
  await iptables(['-t', 'nat', '-X', chain]);
}

export async function removeBridge(bridge = BRIDGE): Promise<void> {
  await run('ip', ['link', 'del', bridge]).catch(() => {});
}

function internalIP(node: Node): string | undefined {
  const addrs = node.status?.addresses ?? [];
  return addrs.find((a) => a.type === 'InternalIP')?.address ?? addrs.find((a) => a.type === 'ExternalIP')?.address;
}

/**
 * host-gw routing: a route to each other node's pod CIDR via its InternalIP. Applies only differences; routes to
 * nodes that went away are removed.
 */
export class HostGwRoutes {
  /** pod CIDR -> gateway */
  private readonly installed = new Map<string, string>();

  constructor(
    private readonly self: string,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  async sync(nodes: Iterable<Node>): Promise<void> {
    const want = new Map<string, string>();
    for (const n of nodes) {
      if (n.metadata.name === this.self) continue;
      const cidr = n.spec?.podCIDR;
      const ip = internalIP(n);
      if (cidr && ip) want.set(cidr, ip);
    }
    for (const [cidr, via] of want) {
      if (this.installed.get(cidr) === via) continue;
      try {
        await run('ip', ['route', 'replace', cidr, 'via', via]);
        this.installed.set(cidr, via);
      } catch (e) {
        this.log(
          `route ${cidr} via ${via}: ${String((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`,
        );
      }
    }
    for (const [cidr, via] of [...this.installed]) {
      if (want.has(cidr)) continue;
      await run('ip', ['route', 'del', cidr, 'via', via]).catch(() => {});
      this.installed.delete(cidr);
    }
  }

  async clear(): Promise<void> {
    for (const [cidr, via] of this.installed) await run('ip', ['route', 'del', cidr, 'via', via]).catch(() => {});
    this.installed.clear();
  }
}
