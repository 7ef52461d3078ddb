/**
 * The kernel service proxy: iptables nat rules in skiff's own chains, written with one iptables-restore per sync
 * (atomic per table). New connections to a virtual IP are spread over the ready endpoints in strict round robin
 * (`statistic --mode nth`: rule i of n takes every (n-i)th connection that reaches it), ClientIP affinity with `recent`,
 * node ports on every local address, hairpin traffic (a pod reaching itself through its Service) masqueraded,
 * connections to a Service without endpoints rejected in the filter table, and node port connections of an
 * externalTrafficPolicy Local Service dropped there on a node without a local endpoint (as kube-proxy does). Only the
 * chains of service ports that changed are rewritten; the dispatch chains only when the set of virtual IPs and ports
 * changed. A failed sync leaves the record of what is applied as it was, so its retry writes the same changes again.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { shortHash, type ServicePort } from './model.ts';

const run = promisify(execFile);
export const MASQ_MARK = '0x4000/0x4000';

export interface IptablesOptions {
  /** chain name prefix: SKIFF (chains SKIFF-SERVICES, SKIFF-SVC-..., SKIFF-SEP-...) */
  prefix: string;
  log?: (msg: string) => void;
}

interface Applied {
  signature: string;
  /** nat chains this service port owns */
  chains: string[];
  /** a UDP service port's endpoints, ip:port */
  udpEndpoints?: string[];
}

export async function iptablesAvailable(): Promise<string | undefined> {
  try {
    await run('iptables', ['-w', '5', '-t', 'nat', '-S', 'PREROUTING']);
    await run('iptables-restore', ['--version']);
    return undefined;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    return err.code === 'ENOENT'
      ? 'iptables is not installed'
      : `iptables does not work here: ${String(err.stderr ?? err.message).trim()}`;
  }
}

function restore(input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('iptables-restore', ['-w', '5', '--noflush'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`iptables-restore failed (${code}): ${err.trim()}\n--- input ---\n${input.slice(0, 4000)}`)),
    );
    p.stdin.end(input);
  });
}

function proto(sp: ServicePort): string {
  return sp.protocol.toLowerCase();
}

export class IptablesProxier {
  private readonly p: string;
  private applied = new Map<string, Applied>();
  private dispatchSignature = '';
  private first = true;
  private readonly log: (msg: string) => void;

  constructor(o: IptablesOptions) {
    this.p = o.prefix;
    this.log = o.log ?? (() => {});
  }

  private get services() {
    return `${this.p}-SERVICES`;
  }
  private get nodePorts() {
    return `${this.p}-NODEPORTS`;
  }
  private get post() {
    return `${this.p}-PROXY-SNAT`;
  }
  private get reject() {
    return `${this.p}-REJECT`;
  }

  private svcChain(sp: ServicePort): string {
    return `${this.p}-SVC-${sp.id}`;
  }
  private extChain(sp: ServicePort): string {
    return `${this.p}-EXT-${sp.id}`;
  }
  private sepChain(sp: ServicePort, ip: string, port: number): string {
    return `${this.p}-SEP-${shortHash(`${sp.key}|${ip}:${port}`)}`;
  }

  /** The jumps from the built-in chains, added once (checked first, so restarts do not duplicate them). */
  private async ensureJumps(): Promise<void> {
    const jumps: [string, string, string[], boolean][] = [
      ['nat', 'PREROUTING', ['-m', 'comment', '--comment', 'skiff service portals', '-j', this.services], false],
      ['nat', 'OUTPUT', ['-m', 'comment', '--comment', 'skiff service portals', '-j', this.services], false],
      // first: the CNI bridge's own per-pod chains end in ACCEPT
      [
        'nat',
        'POSTROUTING',
        ['-m', 'comment', '--comment', 'skiff service traffic requiring SNAT', '-j', this.post],
        true,
      ],
      [
        'filter',
        'INPUT',
        [
          '-m',
          'conntrack',
          '--ctstate',
          'NEW',
          '-m',
          'comment',
          '--comment',
          'skiff services without endpoints',
          '-j',
          this.reject,
        ],
        false,
      ],
      [
        'filter',
        'FORWARD',
        [
          '-m',
          'conntrack',
          '--ctstate',
          'NEW',
          '-m',
          'comment',
          '--comment',
          'skiff services without endpoints',
          '-j',
          this.reject,
        ],
        false,
      ],
      [
        'filter',
        'OUTPUT',
        [
          '-m',
          'conntrack',
          '--ctstate',
          'NEW',
          '-m',
          'comment',
          '--comment',
          'skiff services without endpoints',
          '-j',
          this.reject,
        ],
        false,
      ],
    ];
    for (const [table, chain, rule, first] of jumps) {
      try {
        await run('iptables', ['-w', '5', '-t', table, '-C', chain, ...rule]);
      } catch {
        await run('iptables', ['-w', '5', '-t', table, first ? '-I' : '-A', chain, ...(first ? ['1'] : []), ...rule]);
      }
    }
  }

  private async existingChains(table: string): Promise<string[]> {
    // the nat table of a busy node is megabytes of text
    const { stdout } = await run('iptables-save', ['-t', table], { maxBuffer: 512 * 1024 * 1024 });
    const mine = new RegExp(`^${this.p}-(SERVICES|NODEPORTS|PROXY-SNAT|REJECT|SVC-|SEP-|EXT-)`);
    return stdout
      .split('\n')
      .filter((l) => l.startsWith(':'))
      .map((l) => l.slice(1).split(' ')[0])
      .filter((c) => mine.test(c));
  }

  /** Brings the rules to `ports`. Returns how many service ports were rewritten. */
  async sync(ports: ServicePort[]): Promise<number> {
    const nat: string[] = [];
    const filter: string[] = [];
    const declare = new Set<string>();
    const remove = new Set<string>();
    /** what is applied once this sync's rules are in: the record is replaced only then, so a failed sync's retry writes them again */
    const next = new Map<string, Applied>();
    let stale: string[] = [];
    if (this.first) {
      // whatever an earlier run left is replaced: every chain of ours is rewritten or removed
      stale = await this.existingChains('nat');
    }
    // dispatch chains
    const noLocal = (sp: ServicePort) => sp.externalLocal && !sp.endpoints.some((e) => e.local);
    const dispatch = ports
      .map(
        (sp) =>
          `${sp.key}|${sp.clusterIPs}|${sp.port}|${sp.nodePort}|${sp.externalIPs}|${sp.endpoints.length > 0}|${sp.externalLocal}|${noLocal(sp)}`,
      )
      .join('\n');
    const rewriteDispatch = this.first || dispatch !== this.dispatchSignature;
    if (rewriteDispatch) {
      declare.add(this.services).add(this.nodePorts).add(this.post);
      nat.push(`-A ${this.post} -m mark ! --mark ${MASQ_MARK} -j RETURN`);
      nat.push(`-A ${this.post} -j MARK --xor-mark 0x4000`);
      nat.push(
        `-A ${this.post} -m comment --comment "skiff service traffic requiring SNAT" -j MASQUERADE --random-fully`,
      );
      filter.push(`:${this.reject} - [0:0]`);
      for (const sp of ports) {
        const c = `"${sp.key}"`;
        const has = sp.endpoints.length > 0;
        for (const vip of [...sp.clusterIPs, ...sp.externalIPs]) {
          if (has)
            nat.push(
              `-A ${this.services} -d ${vip}/32 -p ${proto(sp)} -m ${proto(sp)} --dport ${sp.port} -m comment --comment ${c} -j ${this.svcChain(sp)}`,
            );
          else
            filter.push(
              `-A ${this.reject} -d ${vip}/32 -p ${proto(sp)} -m ${proto(sp)} --dport ${sp.port} -m comment --comment "${sp.key} has no endpoints" -j REJECT --reject-with icmp-port-unreachable`,
            );
        }
        if (sp.nodePort) {
          if (has)
            nat.push(
              `-A ${this.nodePorts} -p ${proto(sp)} -m ${proto(sp)} --dport ${sp.nodePort} -m comment --comment ${c} -j ${this.extChain(sp)}`,
            );
          else
            filter.push(
              `-A ${this.reject} -m addrtype --dst-type LOCAL -p ${proto(sp)} -m ${proto(sp)} --dport ${sp.nodePort} -m comment --comment "${sp.key} has no endpoints" -j REJECT --reject-with icmp-port-unreachable`,
            );
          // Local without an endpoint on this node: dropped, as kube-proxy does, in the filter table (iptables refuses DROP in nat)
          if (has && noLocal(sp))
            filter.push(
              `-A ${this.reject} -m addrtype --dst-type LOCAL -p ${proto(sp)} -m ${proto(sp)} --dport ${sp.nodePort} -m comment --comment "${sp.key} has no local endpoints" -j DROP`,
            );
        }
      }
      nat.push(
        `-A ${this.services} -m addrtype --dst-type LOCAL -m comment --comment "skiff node ports; must be last" -j ${this.nodePorts}`,
      );
    }
    // per service port chains, only for what changed
    let rewritten = 0;
    /** UDP flows to endpoints that went away: their conntrack entries would keep sending datagrams there */
    const staleUdp: { vip: string; ip: string }[] = [];
    for (const sp of ports) {
      const prev = this.applied.get(sp.key);
      if (prev && prev.signature === sp.signature && !this.first) {
        next.set(sp.key, prev);
        continue;
      }
      if (prev && sp.protocol === 'UDP') {
        const now = new Set(sp.endpoints.map((e) => `${e.ip}:${e.port}`));
        for (const ep of prev.udpEndpoints ?? [])
          if (!now.has(ep))
            for (const vip of sp.clusterIPs) staleUdp.push({ vip, ip: ep.slice(0, ep.lastIndexOf(':')) });
      }
      rewritten++;
      const chains: string[] = [];
      const svc = this.svcChain(sp);
      if (sp.endpoints.length) {
        chains.push(svc);
        declare.add(svc);
        const seps = sp.endpoints.map((e) => this.sepChain(sp, e.ip, e.port));
        if (sp.affinityTimeoutSeconds) {
          sp.endpoints.forEach((_, i) =>
            nat.push(
              `-A ${svc} -m recent --name ${seps[i]} --rcheck --seconds ${sp.affinityTimeoutSeconds} --reap --rsource -j ${seps[i]}`,
            ),
          );
        }
        const n = sp.endpoints.length;
        sp.endpoints.forEach((e, i) => {
          const rr = i < n - 1 ? `-m statistic --mode nth --every ${n - i} --packet 0 ` : '';
          nat.push(`-A ${svc} -m comment --comment "${sp.key} -> ${e.ip}:${e.port}" ${rr}-j ${seps[i]}`);
        });
        sp.endpoints.forEach((e, i) => {
          const sep = seps[i];
          chains.push(sep);
          declare.add(sep);
          nat.push(`-A ${sep} -s ${e.ip}/32 -m comment --comment "hairpin" -j MARK --set-xmark ${MASQ_MARK}`);
          if (sp.affinityTimeoutSeconds) nat.push(`-A ${sep} -m recent --name ${sep} --set --rsource`);
          nat.push(`-A ${sep} -p ${proto(sp)} -m ${proto(sp)} -j DNAT --to-destination ${e.ip}:${e.port}`);
        });
        if (sp.nodePort) {
          const ext = this.extChain(sp);
          chains.push(ext);
          declare.add(ext);
          if (sp.externalLocal) {
            // Local: only this node's endpoints, the client's address kept; none here -> nothing (the filter table drops it)
            const local = sp.endpoints.map((e, i) => ({ e, sep: seps[i] })).filter((x) => x.e.local);
            local.forEach((x, i) => {
              const rr = i < local.length - 1 ? `-m statistic --mode nth --every ${local.length - i} --packet 0 ` : '';
              nat.push(`-A ${ext} ${rr}-j ${x.sep}`);
            });
          } else {
            nat.push(
              `-A ${ext} -m comment --comment "masquerade traffic for ${sp.key} external destinations" -j MARK --set-xmark ${MASQ_MARK}`,
            );
            nat.push(`-A ${ext} -j ${svc}`);
          }
        }
      }
      for (const old of prev?.chains ?? []) if (!chains.includes(old)) remove.add(old);
      next.set(sp.key, {
        signature: sp.signature,
        chains,
        udpEndpoints: sp.protocol === 'UDP' ? sp.endpoints.map((e) => `${e.ip}:${e.port}`) : undefined,
      });
    }
    for (const [key, a] of this.applied) if (!next.has(key)) for (const c of a.chains) remove.add(c);
    const keep = new Set(
      [...next.values()].flatMap((a) => a.chains).concat([this.services, this.nodePorts, this.post]),
    );
    for (const c of stale) if (!keep.has(c)) remove.add(c);
    for (const c of remove) if (keep.has(c)) remove.delete(c);
    if (!rewriteDispatch && rewritten === 0 && remove.size === 0) {
      this.applied = next;
      return 0;
    }
    const natText = [
      '*nat',
      ...[...declare].map((c) => `:${c} - [0:0]`),
      // a chain is removed by emptying it (declared) and deleting it, after the rules that jumped to it are gone
      ...[...remove].map((c) => `:${c} - [0:0]`),
      ...nat,
      ...[...remove].map((c) => `-X ${c}`),
      'COMMIT',
      '',
    ].join('\n');
    await restore(natText + (rewriteDispatch ? ['*filter', ...filter, 'COMMIT', ''].join('\n') : ''));
    this.applied = next;
    await this.clearStaleUdp(staleUdp);
    if (this.first) await this.ensureJumps(); // the chains exist now
    this.dispatchSignature = dispatch;
    this.first = false;
    return rewritten;
  }

  private conntrackMissing = false;

  /** Deletes the conntrack entries of UDP flows from a virtual IP to endpoints that are gone (as kube-proxy does). */
  private async clearStaleUdp(stale: { vip: string; ip: string }[]): Promise<void> {
    for (const { vip, ip } of stale) {
      try {
        await run('conntrack', ['-D', '-p', 'udp', '--orig-dst', vip, '--dst-nat', ip]);
      } catch (e) {
        const err = e as NodeJS.ErrnoException & { code?: string | number };
        if (err.code === 'ENOENT' && !this.conntrackMissing) {
          this.conntrackMissing = true;
          this.log(
            'conntrack is not installed: UDP flows keep going to removed endpoints until they time out (apt-get install -y conntrack)',
          );
        }
        // exit status 1: no entry matched
      }
    }
  }

  /** Removes every rule and chain of the proxy (clean shutdown). */
  async cleanup(): Promise<void> {
    const del = async (table: string, chain: string, rule: string[]) => {
      for (let i = 0; i < 10; i++) {
        try {
          await run('iptables', ['-w', '5', '-t', table, '-D', chain, ...rule]);
        } catch {
          return;
        }
      }
    };
    await del('nat', 'PREROUTING', ['-m', 'comment', '--comment', 'skiff service portals', '-j', this.services]);
    await del('nat', 'OUTPUT', ['-m', 'comment', '--comment', 'skiff service portals', '-j', this.services]);
    await del('nat', 'POSTROUTING', [
      '-m',
      'comment',
      '--comment',
      'skiff service traffic requiring SNAT',
      '-j',
      this.post,
    ]);
    for (const chain of ['INPUT', 'FORWARD', 'OUTPUT'])
      await del('filter', chain, [
        '-m',
        'conntrack',
        '--ctstate',
        'NEW',
        '-m',
        'comment',
        '--comment',
        'skiff services without endpoints',
        '-j',
        this.reject,
      ]);
    for (const table of ['nat', 'filter']) {
      const chains = await this.existingChains(table).catch((e) => {
        this.log(`proxy cleanup: cannot list the ${table} chains: ${(e as Error).message}`);
        return [] as string[];
      });
      if (!chains.length) continue;
      await restore(
        [`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), ...chains.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n'),
      ).catch((e) => this.log(`proxy cleanup: ${(e as Error).message}`));
    }
    this.applied.clear();
    this.first = true;
  }
}
