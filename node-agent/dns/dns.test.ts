import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { ClusterRecords } from './records.ts';
import { DnsServer } from './server.ts';

const svc = (ns: string, name: string, spec: any) =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name }, spec }) as any;
const slice = (ns: string, svcName: string, name: string, endpoints: any[], ports: any[]) =>
  ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': svcName } },
    endpoints,
    ports,
  }) as any;

function fixture(): ClusterRecords {
  const r = new ClusterRecords('cluster.local');
  r.upsertService(
    svc('default', 'web', {
      clusterIP: '10.96.0.20',
      clusterIPs: ['10.96.0.20'],
      ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    }),
  );
  r.upsertService(svc('default', 'db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }));
  r.upsertService(svc('default', 'ext', { type: 'ExternalName', externalName: 'example.org' }));
  r.upsertSlice(
    slice(
      'default',
      'db',
      'db-1',
      [
        { addresses: ['10.244.0.5'], hostname: 'db-0', conditions: { ready: true } },
        { addresses: ['10.244.0.6'], conditions: { ready: true } },
        { addresses: ['10.244.0.7'], conditions: { ready: false } },
      ],
      [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    ),
  );
  return r;
}

describe('cluster DNS records', () => {
  const r = fixture();
  const ips = (name: string, type = 'A') => r.resolve(name, type).answers.map((a) => a.data);

  it('answers a ClusterIP Service with its address, a headless one with its ready endpoints', () => {
    assert.deepEqual(ips('web.default.svc.cluster.local'), ['10.96.0.20']);
    assert.deepEqual(ips('WEB.default.svc.cluster.local.'), ['10.96.0.20'], 'case-insensitive, trailing dot');
    assert.deepEqual(ips('db.default.svc.cluster.local').sort(), ['10.244.0.5', '10.244.0.6']);
    assert.deepEqual(ips('db-0.db.default.svc.cluster.local'), ['10.244.0.5']);
    assert.deepEqual(r.resolve('ext.default.svc.cluster.local', 'A').answers, [
      { name: 'ext.default.svc.cluster.local', type: 'CNAME', ttl: 5, data: 'example.org' },
    ]);
  });

  it('answers SRV per named port, pod names, and PTR for ClusterIPs and named endpoints', () => {
    const srv = r.resolve('_http._tcp.web.default.svc.cluster.local', 'SRV');
    assert.deepEqual(
      srv.answers.map((a) => a.data),
      [{ priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' }],
    );
    const hsrv = r
      .resolve('_pg._tcp.db.default.svc.cluster.local', 'SRV')
      .answers.map((a) => (a.type === 'SRV' ? a.data.target : a.data))
      .sort();
    assert.deepEqual(hsrv, ['10-244-0-6.db.default.svc.cluster.local', 'db-0.db.default.svc.cluster.local']);
    assert.deepEqual(ips('10-244-0-9.default.pod.cluster.local'), ['10.244.0.9']);
    assert.deepEqual(ips('20.0.96.10.in-addr.arpa', 'PTR'), ['web.default.svc.cluster.local']);
    assert.deepEqual(ips('5.0.244.10.in-addr.arpa', 'PTR'), ['db-0.db.default.svc.cluster.local']);
  });

  it('NXDOMAIN for unknown names in the zone, no data for known names of another type', () => {
    assert.equal(r.resolve('nope.default.svc.cluster.local', 'A').rcode, 'NXDOMAIN');
    assert.equal(r.resolve('web.nons.svc.cluster.local', 'A').rcode, 'NXDOMAIN');
    const aaaa = r.resolve('web.default.svc.cluster.local', 'AAAA');
    assert.equal(aaaa.rcode, 'NOERROR');
    assert.deepEqual(aaaa.answers, []);
  });

  it('follows updates: a deleted Service and slice disappear, with their PTR records', () => {
    const r2 = fixture();
    r2.deleteService(svc('default', 'web', {}));
    assert.equal(r2.resolve('web.default.svc.cluster.local', 'A').rcode, 'NXDOMAIN');
    assert.equal(r2.knownReverse('20.0.96.10.in-addr.arpa'), false);
    r2.deleteSlice(slice('default', 'db', 'db-1', [], []));
    assert.deepEqual(r2.resolve('db.default.svc.cluster.local', 'A').answers, []);
  });
});

describe('DNS server on the wire', () => {
  let upstream: dgram.Socket;
  let server: DnsServer;
  before(async () => {
    // a stand-in upstream resolver: answers every A query with 192.0.2.99, TTL 60
    upstream = dgram.createSocket('udp4');
    upstream.on('message', (msg, rinfo) => {
      const q = dnsPacket.decode(msg);
      const a = {
        id: q.id,
        type: 'response' as const,
        flags: dnsPacket.RECURSION_AVAILABLE,
        questions: q.questions,
        answers: [{ name: q.questions![0].name, type: 'A' as const, ttl: 60, data: '192.0.2.99' }],
      };
      upstream.send(dnsPacket.encode(a), rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', () => r()));
    server = new DnsServer({
      records: fixture(),
      address: '127.0.0.1',
      port: 0,
      upstreams: [`127.0.0.1:${upstream.address().port}`],
    });
    await server.start();
  });
  after(async () => {
    await server.stop();
    upstream.close();
  });

  // the server runs in this process: dig must not block the event loop
  const run = async (args: string[]) => (await promisify(execFile)('dig', args, { encoding: 'utf8' })).stdout;
  const dig = (...args: string[]) => run(['@127.0.0.1', '-p', String(server.port), '+time=2', '+tries=1', ...args]);
  const digMissing = existsSync('/usr/bin/dig') ? undefined : 'dig is not installed (apt-get install -y dnsutils)';

  it('answers cluster names over UDP and TCP, authoritatively', { skip: digMissing }, async () => {
    assert.equal((await dig('+short', 'web.default.svc.cluster.local')).trim(), '10.96.0.20');
    assert.equal((await dig('+short', '+tcp', 'web.default.svc.cluster.local')).trim(), '10.96.0.20');
    assert.match(await dig('web.default.svc.cluster.local'), /flags: qr aa rd ra/);
  });

  it(
    'NXDOMAIN with the zone SOA, and forwards other names to the upstream (then from its cache)',
    { skip: digMissing },
    async () => {
      const nx = await dig('nope.default.svc.cluster.local');
      assert.match(nx, /status: NXDOMAIN/);
      assert.match(nx, /AUTHORITY SECTION:\s*\ncluster\.local\.\s+\d+\s+IN\s+SOA/);
      assert.equal((await dig('+short', 'example.org')).trim(), '192.0.2.99');
      assert.match(await dig('example.org'), /example\.org\.\s+(5\d|60)\s+IN\s+A\s+192\.0\.2\.99/);
    },
  );

  it('a changed Service is answered anew at once (no stale encoded answer)', { skip: digMissing }, async () => {
    const records = new ClusterRecords('cluster.local');
    records.upsertService(svc('default', 'moving', { clusterIP: '10.96.1.1', ports: [{ port: 80 }] }));
    const s = new DnsServer({ records, address: '127.0.0.1', port: 0, upstreams: [] });
    await s.start();
    try {
      const ask = async () =>
        (await run(['@127.0.0.1', '-p', String(s.port), '+short', 'moving.default.svc.cluster.local'])).trim();
      assert.equal(await ask(), '10.96.1.1');
      assert.equal(await ask(), '10.96.1.1');
      records.upsertService(svc('default', 'moving', { clusterIP: '10.96.1.2', ports: [{ port: 80 }] }));
      assert.equal(await ask(), '10.96.1.2');
    } finally {
      await s.stop();
    }
  });

  it('SERVFAIL without an upstream', { skip: digMissing }, async () => {
    const lonely = new DnsServer({ records: fixture(), address: '127.0.0.1', port: 0, upstreams: [] });
    await lonely.start();
    try {
      const out = await run(['@127.0.0.1', '-p', String(lonely.port), '+time=2', '+tries=1', 'example.org']);
      assert.match(out, /status: SERVFAIL/);
    } finally {
      await lonely.stop();
    }
  });

  it(
    'truncates a UDP answer larger than 512 bytes; the same query over TCP gets it whole',
    { skip: digMissing },
    async () => {
      const r = new ClusterRecords('cluster.local');
      r.upsertService(svc('default', 'big', { clusterIP: 'None', ports: [{ name: 'p', port: 1, protocol: 'TCP' }] }));
      r.upsertSlice(
        slice(
          'default',
          'big',
          'big-1',
          Array.from({ length: 60 }, (_, i) => ({ addresses: [`10.1.0.${i + 1}`], conditions: { ready: true } })),
          [{ name: 'p', port: 1, protocol: 'TCP' }],
        ),
      );
      const s = new DnsServer({ records: r, address: '127.0.0.1', port: 0, upstreams: [] });
      await s.start();
      try {
        const udp = await run([
          '@127.0.0.1',
          '-p',
          String(s.port),
          '+notcp',
          '+ignore',
          '+noedns',
          'big.default.svc.cluster.local',
        ]);
        assert.match(udp, /flags: qr aa tc/);
        const tcp = await run(['@127.0.0.1', '-p', String(s.port), '+tcp', '+short', 'big.default.svc.cluster.local']);
        assert.equal(tcp.trim().split('\n').length, 60);
      } finally {
        await s.stop();
      }
    },
  );
});
