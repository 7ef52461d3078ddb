/**
 * The node's cluster DNS server (UDP and TCP, dns-packet for the wire format): names of the cluster zone and the
 * reverse names it knows are answered from ClusterRecords (authoritative, with the zone's SOA for NXDOMAIN and no
 * data); everything else goes to the host's upstream resolvers, with a cache bounded by the answers' TTLs. No upstream
 * (or none answering) is SERVFAIL. UDP answers larger than the client's buffer are truncated (TC) so it retries on TCP.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, ClusterRecords } from './records.ts';

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const UPSTREAM_TIMEOUT_MS = 2000;
const CACHE_MAX = 10_000;
const NEGATIVE_TTL = 30;

export interface DnsServerOptions {
  records: ClusterRecords;
  address: string;
  port?: number;
  /** upstream resolvers (host:port or ip); empty: SERVFAIL for names outside the cluster */
  upstreams: string[];
  log?: (msg: string) => void;
}

interface CacheEntry {
  expires: number;
  /** the upstream answer, id and question rewritten per query */
  packet: dnsPacket.Packet;
}

function soa(zone: string): dnsPacket.Answer {
  return {
    name: zone,
    type: 'SOA',
    ttl: 5,
    data: {
      mname: `ns.dns.${zone}`,
      rname: `hostmaster.${zone}`,
      serial: Math.floor(Date.now() / 1000),
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: 5,
    },
  } as dnsPacket.Answer;
}

export class DnsServer {
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private upstreamSocket?: dgram.Socket;
  private readonly pending = new Map<
    number,
    { resolve: (p: dnsPacket.Packet | undefined) => void; timer: NodeJS.Timeout }
  >();
  private nextId = 1;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly log: (msg: string) => void;
  port = 0;

  constructor(private readonly o: DnsServerOptions) {
    this.log = o.log ?? (() => {});
  }

  async start(): Promise<void> {
    const udp = dgram.createSocket({ type: o6(this.o.address) ? 'udp6' : 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.o.port ?? 53, this.o.address, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    this.port = udp.address().port;
    udp.on('message', (msg, rinfo) => void this.onUdp(msg, rinfo));
    udp.on('error', (e) => this.log(`dns udp: ${e.message}`));
    this.udp = udp;
    const tcp = net.createServer((sock) => this.onTcp(sock));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.port, this.o.address, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    this.tcp = tcp;
    const up = dgram.createSocket('udp4');
    up.on('message', (msg) => {
      let p: dnsPacket.Packet;
      try {
        p = dnsPacket.decode(msg);
      } catch {
        return;
      }
      const w = this.pending.get(p.id!);
      if (!w) return;
      this.pending.delete(p.id!);
      clearTimeout(w.timer);
      w.resolve(p);
    });
    up.on('error', (e) => this.log(`dns upstream: ${e.message}`));
    await new Promise<void>((r) => up.bind(0, () => r()));
    this.upstreamSocket = up;
  }

  async stop(): Promise<void> {
    this.udp?.close();
    this.upstreamSocket?.close();
    for (const w of this.pending.values()) {
      clearTimeout(w.timer);
      w.resolve(undefined);
    }
    this.pending.clear();
    await new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r()));
  }

  /** encoded answers to cluster names by the raw question (and RD bit), valid for one records version */
  private readonly encoded = new Map<string, Buffer>();
  private encodedVersion = -1;

  /** The raw question of a plain one-question query, or undefined (then the full path decodes it). */
  private static questionKey(msg: Buffer): string | undefined {
    if (msg.length < 17 || msg.readUInt16BE(4) !== 1 || msg.readUInt16BE(6) !== 0 || msg.readUInt16BE(8) !== 0)
      return undefined;
    if ((msg[2] & 0xf8) !== 0) return undefined; // a response, or an opcode other than QUERY
    let i = 12;
    while (i < msg.length && msg[i] !== 0) {
      if (msg[i] & 0xc0) return undefined;
      i += msg[i] + 1;
    }
    if (i + 5 > msg.length) return undefined;
    return msg.toString('latin1', 12, i + 5) + (msg[2] & 1);
  }

  private async onUdp(msg: Buffer, rinfo: dgram.RemoteInfo): Promise<void> {
    const key = DnsServer.questionKey(msg);
    if (key !== undefined) {
      if (this.encodedVersion !== this.o.records.version) {
        this.encoded.clear();
        this.encodedVersion = this.o.records.version;
      }
      const hit = this.encoded.get(key);
      if (hit) {
        const out = Buffer.from(hit);
        out.writeUInt16BE(msg.readUInt16BE(0), 0);
        this.udp?.send(out, rinfo.port, rinfo.address);
        return;
      }
    }
    let q: dnsPacket.Packet;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return; // not DNS: dropped
    }
    const version = this.o.records.version;
    const res = await this.answer(q);
    const opt = (q.additionals ?? []).find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
    const limit = Math.max(512, Math.min(opt?.udpPayloadSize ?? 512, 4096));
    let buf = dnsPacket.encode(res);
    // answers of the cluster zone that fit in 512 bytes are kept, encoded, until the records change
    if (
      key !== undefined &&
      buf.length <= 512 &&
      (res.flags ?? 0) & dnsPacket.AUTHORITATIVE_ANSWER &&
      version === this.o.records.version &&
      this.encodedVersion === version
    ) {
      if (this.encoded.size >= CACHE_MAX) this.encoded.clear();
      this.encoded.set(key, buf);
    }
    if (buf.length > limit) {
      buf = dnsPacket.encode({
        ...res,
        flags: (res.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
        answers: [],
        authorities: [],
        additionals: [],
      });
    }
    this.udp?.send(buf, rinfo.port, rinfo.address);
  }

  private onTcp(sock: net.Socket): void {
    let buf = Buffer.alloc(0);
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('data', async (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        let q: dnsPacket.Packet;
        try {
          q = dnsPacket.decode(msg);
        } catch {
          sock.destroy();
          return;
        }
        const out = dnsPacket.encode(await this.answer(q));
        const len2 = Buffer.alloc(2);
        len2.writeUInt16BE(out.length);
        sock.write(Buffer.concat([len2, out]));
      }
    });
  }

  /** The response to one query. */
  async answer(q: dnsPacket.Packet): Promise<dnsPacket.Packet> {
    const question = q.questions?.[0];
    const base = { id: q.id, type: 'response' as const, questions: q.questions ?? [] };
    const rd = (q.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
    if (!question) return { ...base, flags: rd | dnsPacket.RECURSION_AVAILABLE | RCODE.REFUSED };
    const { records } = this.o;
    const name = question.name;
    const isReverse = /\.(in-addr|ip6)\.arpa\.?$/i.test(name);
    if (records.authoritative(name) && (!isReverse || records.knownReverse(name))) {
      const a: Answer = records.resolve(name, question.type);
      const authorities = a.answers.length === 0 ? [soa(records.zone)] : [];
      return {
        ...base,
        flags: rd | dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHORITATIVE_ANSWER | RCODE[a.rcode],
        answers: a.answers as dnsPacket.Answer[],
        authorities,
        additionals: a.additionals as dnsPacket.Answer[],
      };
    }
    return this.forward(q, question);
  }

  private async forward(q: dnsPacket.Packet, question: dnsPacket.Question): Promise<dnsPacket.Packet> {
    const rd = (q.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
    const key = `${question.name.toLowerCase()}|${question.type}|${question.class ?? 'IN'}`;
    const hit = this.cache.get(key);
    const now = Date.now();
    if (hit && hit.expires > now) return { ...hit.packet, id: q.id, questions: q.questions };
    if (hit) this.cache.delete(key);
    for (const upstream of this.o.upstreams) {
      const res = await this.ask(upstream, question);
      if (!res) continue;
      const ttls = [...(res.answers ?? []), ...(res.authorities ?? [])].map((a) =>
        'ttl' in a && typeof a.ttl === 'number' ? a.ttl : 0,
      );
      const ttl = ttls.length ? Math.min(...ttls) : NEGATIVE_TTL;
      if ((res as { rcode?: string }).rcode !== 'SERVFAIL' && ttl > 0) {
        if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
        this.cache.set(key, {
          expires: now + ttl * 1000,
          packet: { ...res, additionals: (res.additionals ?? []).filter((a) => a.type !== 'OPT') },
        });
      }
      return {
        ...res,
        id: q.id,
        questions: q.questions,
        additionals: (res.additionals ?? []).filter((a) => a.type !== 'OPT'),
      };
    }
    return {
      id: q.id,
      type: 'response',
      questions: q.questions,
      flags: rd | dnsPacket.RECURSION_AVAILABLE | RCODE.SERVFAIL,
    };
  }

  private ask(upstream: string, question: dnsPacket.Question): Promise<dnsPacket.Packet | undefined> {
    const [host, port] =
      upstream.includes(':') && !upstream.includes('::')
        ? [upstream.split(':')[0], Number(upstream.split(':')[1])]
        : [upstream, 53];
    const id = (this.nextId = (this.nextId % 65535) + 1);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, UPSTREAM_TIMEOUT_MS);
      this.pending.set(id, { resolve, timer });
      const msg = dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [question] });
      this.upstreamSocket?.send(msg, port, host, (err) => {
        if (err) {
          clearTimeout(timer);
          this.pending.delete(id);
          resolve(undefined);
        }
      });
    });
  }
}

function o6(addr: string): boolean {
  return addr.includes(':');
}
