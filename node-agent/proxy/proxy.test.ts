import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { servicePorts, type ServicePort } from './model.ts';
import { UserspaceProxier } from './userspace.ts';

const svc = (spec: any) => ({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name: 'web' }, spec }) as any;
const slice = (endpoints: any[], ports: any[]) => ({ metadata: { namespace: 'default', name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', endpoints, ports }) as any;

describe('service ports', () => {
  it('resolve named target ports per slice, keep only ready endpoints, in a stable order', () => {
    const s = svc({ clusterIP: '10.96.0.5', clusterIPs: ['10.96.0.5'], type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' }], sessionAffinity: 'ClientIP' });
    const sl = slice(
      [
        { addresses: ['10.244.0.9'], conditions: { ready: true }, nodeName: 'n1' },
        { addresses: ['10.244.0.3'], conditions: { ready: true }, nodeName: 'n2' },
        { addresses: ['10.244.0.4'], conditions: { ready: false } },
      ],
      [{ name: 'http', port: 8080, protocol: 'TCP' }],
    );
    const [sp] = servicePorts(s, [sl], 'n1');
    assert.deepEqual(sp.endpoints, [{ ip: '10.244.0.3', port: 8080, local: false }, { ip: '10.244.0.9', port: 8080, local: true }]);
    assert.equal(sp.nodePort, 30080);
    assert.equal(sp.affinityTimeoutSeconds, 10800);
    assert.equal(sp.id.length, 12);
    assert.deepEqual(servicePorts(svc({ clusterIP: 'None', ports: [{ port: 80 }] }), [sl], 'n1'), [], 'headless: no proxying');
    const again = servicePorts(s, [sl], 'n1')[0];
    assert.equal(again.signature, sp.signature, 'same input, same signature');
  });
});

function server(name: string): Promise<{ port: number; close(): void }> {
  const srv = net.createServer((c) => c.end(name));
  return new Promise((r) => srv.listen(0, '127.0.0.1', () => r({ port: (srv.address() as net.AddressInfo).port, close: () => srv.close() })));
}

function fetchName(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect({ host, port });
    let out = '';
    c.on('data', (d) => (out += d));
    c.on('end', () => resolve(out));
    c.on('error', (e) => resolve(`error: ${(e as NodeJS.ErrnoException).code}`));
  });
}

describe('userspace proxy', { skip: process.getuid?.() !== 0 ? 'needs root (adds the virtual IP to lo)' : undefined }, () => {
  it('round robin over endpoints, skipping one that refuses; reset when there are none', async () => {
    const a = await server('a');
    const b = await server('b');
    const dead = await server('dead');
    dead.close(); // its port now refuses
    const vip = `127.77.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    const port = 20000 + Math.floor(Math.random() * 20000);
    const sp = (endpoints: { ip: string; port: number }[]): ServicePort => ({
      key: 'default/web:http/TCP', namespace: 'default', service: 'web', portName: 'http', protocol: 'TCP', clusterIPs: [vip], port, externalIPs: [], externalLocal: false,
      endpoints: endpoints.map((e) => ({ ...e, local: true })), signature: JSON.stringify(endpoints), id: 'X',
    });
    const p = new UserspaceProxier();
    try {
      await p.sync([sp([{ ip: '127.0.0.1', port: a.port }, { ip: '127.0.0.1', port: dead.port }, { ip: '127.0.0.1', port: b.port }])]);
      const got = [];
      for (let i = 0; i < 6; i++) got.push(await fetchName(vip, port));
      assert.equal(got.filter((x) => x === 'a').length >= 2 && got.filter((x) => x === 'b').length >= 2, true, `answers: ${got}`);
      assert.ok(!got.some((x) => x.startsWith('error')), `no failed connection: ${got}`);
      await p.sync([sp([])]);
      assert.match(await fetchName(vip, port), /^error: (ECONNRESET|ECONNREFUSED)$|^$/);
    } finally {
      await p.cleanup();
      a.close();
      b.close();
    }
  });
});
