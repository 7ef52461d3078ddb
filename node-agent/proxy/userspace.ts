/**
 * The userspace service proxy, for hosts where the kernel path (iptables) is unavailable: each virtual IP is put on
 * the loopback interface and a listener per service port hands every new TCP connection to the next ready endpoint in
 * round robin, trying the following one when an endpoint refuses. UDP datagrams are relayed per client. Node ports
 * listen on every address. A service port without endpoints resets connections at once.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Endpoint, ServicePort } from './model.ts';
import type { Backend } from './proxier.ts';

const run = promisify(execFile);
const CONNECT_TIMEOUT_MS = 2000;
const UDP_IDLE_MS = 30_000;

interface Listener {
  signature: string;
  close(): Promise<void>;
}

class Rotation {
  private next = 0;
  endpoints: Endpoint[] = [];
  affinity?: { seconds: number; byClient: Map<string, { ep: Endpoint; until: number }> };

  pick(client: string): Endpoint[] {
    const n = this.endpoints.length;
    if (!n) return [];
    if (this.affinity) {
      const a = this.affinity.byClient.get(client);
      if (a && a.until > Date.now() && this.endpoints.some((e) => e.ip === a.ep.ip && e.port === a.ep.port)) {
        a.until = Date.now() + this.affinity.seconds * 1000;
        return [a.ep, ...this.endpoints.filter((e) => e !== a.ep)];
      }
    }
    const start = this.next++ % n;
    const order = [...this.endpoints.slice(start), ...this.endpoints.slice(0, start)];
    if (this.affinity)
      this.affinity.byClient.set(client, { ep: order[0], until: Date.now() + this.affinity.seconds * 1000 });
    return order;
  }
}

function connectFirst(order: Endpoint[], client: net.Socket): void {
  const [ep, ...rest] = order;
  if (!ep) {
    client.resetAndDestroy();
    return;
  }
  const up = net.connect({ host: ep.ip, port: ep.port });
  const timer = setTimeout(() => up.destroy(new Error('connect timeout')), CONNECT_TIMEOUT_MS);
  up.once('connect', () => {
    clearTimeout(timer);
    client.pipe(up);
    up.pipe(client);
    client.resume();
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
    up.on('close', () => client.destroy());
    client.on('close', () => up.destroy());
  });
  up.once('error', () => {
    clearTimeout(timer);
    if (up.readyState === 'opening' || !up.remoteAddress) connectFirst(rest, client);
  });
}

export class UserspaceProxier implements Backend {
  private readonly listeners = new Map<string, Listener>();
  private readonly rotations = new Map<string, Rotation>();
  private readonly addresses = new Set<string>();

  constructor(private readonly log: (msg: string) => void = () => {}) {}

  private rotation(key: string, sp: ServicePort): Rotation {
    let r = this.rotations.get(key);
    if (!r) this.rotations.set(key, (r = new Rotation()));
    r.endpoints = sp.endpoints;
    r.affinity = sp.affinityTimeoutSeconds
      ? (r.affinity ?? { seconds: sp.affinityTimeoutSeconds, byClient: new Map() })
      : undefined;
    return r;
  }

  private async addAddress(ip: string): Promise<void> {
    if (this.addresses.has(ip)) return;
    await run('ip', ['addr', 'add', `${ip}/32`, 'dev', 'lo']).catch((e) => {
      if (!String(e.stderr ?? '').includes('File exists')) throw e;
    });
    this.addresses.add(ip);
  }

  private listenTcp(host: string, port: number, rot: Rotation): Promise<Listener['close']> {
    const server = net.createServer({ pauseOnConnect: true }, (client) =>
      connectFirst(rot.pick(client.remoteAddress ?? ''), client),
    );
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve(() => new Promise<void>((r) => server.close(() => r()))));
    });
  }

  private listenUdp(host: string, port: number, rot: Rotation): Promise<Listener['close']> {
    const sock = dgram.createSocket('udp4');
    const sessions = new Map<string, { up: dgram.Socket; timer: NodeJS.Timeout }>();
    sock.on('message', (msg, rinfo) => {
      const key = `${rinfo.address}:${rinfo.port}`;
      let s = sessions.get(key);
      if (!s) {
        const ep = rot.pick(rinfo.address)[0];
        if (!ep) return;
        const up = dgram.createSocket('udp4');
        up.connect(ep.port, ep.ip);
        up.on('message', (reply) => sock.send(reply, rinfo.port, rinfo.address));
        up.on('error', () => {});
        s = { up, timer: setTimeout(() => {}, 0) };
        sessions.set(key, s);
        up.once('connect', () => up.send(msg));
      } else s.up.send(msg);
      clearTimeout(s.timer);
      const cur = s;
      s.timer = setTimeout(() => {
        cur.up.close();
        sessions.delete(key);
      }, UDP_IDLE_MS);
    });
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, host, () =>
        resolve(async () => {
          for (const s of sessions.values()) {
            clearTimeout(s.timer);
            s.up.close();
          }
          sock.close();
        }),
      );
    });
  }

  async sync(ports: ServicePort[]): Promise<number> {
    const wanted = new Map<string, { host: string; port: number; sp: ServicePort }>();
    for (const sp of ports) {
      if (sp.protocol === 'SCTP') continue;
      for (const ip of [...sp.clusterIPs, ...sp.externalIPs])
        wanted.set(`${ip}:${sp.port}/${sp.protocol}`, { host: ip, port: sp.port, sp });
      if (sp.nodePort) wanted.set(`0.0.0.0:${sp.nodePort}/${sp.protocol}`, { host: '0.0.0.0', port: sp.nodePort, sp });
    }
    let changed = 0;
    for (const [key, l] of [...this.listeners]) {
      if (wanted.has(key)) continue;
      await l.close();
      this.listeners.delete(key);
      this.rotations.delete(key);
      changed++;
    }
    for (const [key, w] of wanted) {
      const rot = this.rotation(key, w.sp);
      if (this.listeners.has(key)) continue;
      try {
        if (w.host !== '0.0.0.0') await this.addAddress(w.host);
        const close =
          w.sp.protocol === 'UDP'
            ? await this.listenUdp(w.host, w.port, rot)
            : await this.listenTcp(w.host, w.port, rot);
        this.listeners.set(key, { signature: w.sp.signature, close });
        changed++;
      } catch (e) {
        this.log(`userspace proxy: cannot listen on ${key}: ${(e as Error).message}`);
      }
    }
    return changed;
  }

  async cleanup(): Promise<void> {
    for (const l of this.listeners.values()) await l.close();
    this.listeners.clear();
    for (const ip of this.addresses) await run('ip', ['addr', 'del', `${ip}/32`, 'dev', 'lo']).catch(() => {});
    this.addresses.clear();
  }
}
