import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { servicePorts, type ServicePort } from './model.ts';
import { UserspaceProxier } from './userspace.ts';

const svc = (spec: any) =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name: 'web' }, spec }) as any;
const slice = (endpoints: any[], ports: any[]) =>
  ({
    metadata: { namespace: 'default', name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    endpoints,
    ports,
  }) as any;

describe('service ports', () => {
  it('resolve named target ports per slice, keep only ready endpoints, in a stable order', () => {
    const s = svc({
      clusterIP: '10.96.0.5',
      clusterIPs: ['10.96.0.5'],
      type: 'NodePort',
      ports: [{ name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' }],
      sessionAffinity: 'ClientIP',
    });
    const sl = slice(
      [
        { addresses: ['10.244.0.9'], conditions: { ready: true }, nodeName: 'n1' },
        { addresses: ['10.244.0.3'], conditions: { ready: true }, nodeName: 'n2' },
        { addresses: ['10.244.0.4'], conditions: { ready: false } },
      ],
      [{ name: 'http', port: 8080, protocol: 'TCP' }],
    );
    const [sp] = servicePorts(s, [sl], 'n1');
    assert.deepEqual(sp.endpoints, [
      { ip: '10.244.0.3', port: 8080, local: false },
      { ip: '10.244.0.9', port: 8080, local: true },
    ]);
    assert.equal(sp.nodePort, 30080);
    assert.equal(sp.affinityTimeoutSeconds, 10800);
    assert.equal(sp.id.length, 12);
    assert.deepEqual(
      servicePorts(svc({ clusterIP: 'None', ports: [{ port: 80 }] }), [sl], 'n1'),
      [],
      'headless: no proxying',
    );
    const again = servicePorts(s, [sl], 'n1')[0];
    assert.equal(again.signature, sp.signature, 'same input, same signature');
  });
});

function server(name: string): Promise<{ port: number; close(): void }> {
  const srv = net.createServer((c) => c.end(name));
  return new Promise((r) =>
    srv.listen(0, '127.0.0.1', () => r({ port: (srv.address() as net.AddressInfo).port, close: () => srv.close() })),
  );
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

describe(
  'userspace proxy',
  { skip: process.getuid?.() !== 0 ? 'needs root (adds the virtual IP to lo)' : undefined },
  () => {
    it('round robin over endpoints, skipping one that refuses; reset when there are none', async () => {
      const a = await server('a');
      const b = await server('b');
      const dead = await server('dead');
      dead.close(); // its port now refuses
      const vip = `127.77.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
      const port = 20000 + Math.floor(Math.random() * 20000);
      const sp = (endpoints: { ip: string; port: number }[]): ServicePort => ({
        key: 'default/web:http/TCP',
        namespace: 'default',
        service: 'web',
        portName: 'http',
        protocol: 'TCP',
        clusterIPs: [vip],
        port,
        externalIPs: [],
        externalLocal: false,
        endpoints: endpoints.map((e) => ({ ...e, local: true })),
        signature: JSON.stringify(endpoints),
        id: 'X',
      });
      const p = new UserspaceProxier();
      try {
        await p.sync([
          sp([
            { ip: '127.0.0.1', port: a.port },
            { ip: '127.0.0.1', port: dead.port },
            { ip: '127.0.0.1', port: b.port },
          ]),
        ]);
        const got = [];
        for (let i = 0; i < 6; i++) got.push(await fetchName(vip, port));
        assert.equal(
          got.filter((x) => x === 'a').length >= 2 && got.filter((x) => x === 'b').length >= 2,
          true,
          `answers: ${got}`,
        );
        assert.ok(!got.some((x) => x.startsWith('error')), `no failed connection: ${got}`);
        await p.sync([sp([])]);
        assert.match(await fetchName(vip, port), /^error: (ECONNRESET|ECONNREFUSED)$|^$/);
      } finally {
        await p.cleanup();
        a.close();
        b.close();
      }
    });
  },
);

const HERE = path.dirname(fileURLToPath(import.meta.url));
const nsMissing =
  process.getuid?.() !== 0
    ? 'needs root (runs iptables in a network namespace of its own)'
    : !existsSync('/usr/bin/unshare')
      ? 'unshare is missing (util-linux)'
      : spawnSync('unshare', ['--net', '--', 'iptables', '-w', '5', '-t', 'nat', '-S'], { stdio: 'ignore' }).status !==
          0
        ? 'iptables does not work in a new network namespace here'
        : '';

/** runs `body` (a module body with `IptablesProxier`, `ServicePort` and `save()` in scope) in a new network namespace; returns what it printed as JSON */
function inNewNetns(body: string): any {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-proxy-test-'));
  try {
    const file = path.join(dir, 'run.mts');
    writeFileSync(
      file,
      [
        `import { IptablesProxier } from ${JSON.stringify(pathToFileURL(path.join(HERE, 'iptables.ts')).href)};`,
        `import type { ServicePort } from ${JSON.stringify(pathToFileURL(path.join(HERE, 'model.ts')).href)};`,
        "import { execFileSync } from 'node:child_process';",
        "const save = () => execFileSync('iptables-save', { encoding: 'utf8' }).split('\\n').filter((l) => /^-A /.test(l));",
        body,
      ].join('\n'),
    );
    const out = execFileSync('unshare', ['--net', '--', process.execPath, '--import', 'tsx', file], {
      cwd: path.join(HERE, '../..'),
      encoding: 'utf8',
    });
    return JSON.parse(out.trim().split('\n').pop()!);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('iptables proxy', { skip: nsMissing || undefined }, () => {
  it('externalTrafficPolicy Local: a node port without a local endpoint is dropped in the filter table (nat refuses DROP); a failed sync is retried whole', () => {
    const r = inNewNetns(`
      const sp = (local: boolean): ServicePort => ({
        key: 'default/web:http/TCP', namespace: 'default', service: 'web', portName: 'http', protocol: 'TCP', clusterIPs: ['10.96.7.7'], port: 80, nodePort: 30777,
        externalIPs: [], externalLocal: true, endpoints: [{ ip: '10.244.1.5', port: 8080, local }], signature: String(local), id: 'ABC',
      });
      const other: ServicePort = { ...sp(true), key: 'default/other:http/TCP', service: 'other', clusterIPs: ['10.96.7.8'], nodePort: 30778, externalLocal: false, signature: 'o', id: 'DEF' };
      const p = new IptablesProxier({ prefix: 'SKT' });
      const out: Record<string, unknown> = {};
      await p.sync([other]);
      await p.sync([other, sp(false)]);
      out.remote = save();
      await p.sync([other, sp(true)]);
      out.local = save();
      // a sync that fails (iptables-restore cannot be found) must not count as applied: the retry writes the same rules
      const path = process.env.PATH;
      process.env.PATH = '/nonexistent';
      out.failed = await p.sync([other, sp(false)]).then(() => 'no', (e: Error) => e.message);
      process.env.PATH = path;
      await p.sync([other, sp(false)]);
      out.retried = save();
      await p.cleanup();
      out.clean = save();
      console.log(JSON.stringify(out));
    `);
    const drop = (lines: string[]) => lines.filter((l) => / -j DROP/.test(l));
    const expectDrop = [
      '-A SKT-REJECT -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 30777 -m comment --comment "default/web:http/TCP has no local endpoints" -j DROP',
    ];
    assert.deepEqual(drop(r.remote), expectDrop, r.remote.join('\n'));
    assert.deepEqual(
      r.remote.filter((l: string) => l.startsWith('-A SKT-EXT-ABC')),
      [],
      'no local endpoint: the node port chain sends nowhere',
    );
    assert.deepEqual(drop(r.local), [], r.local.join('\n'));
    assert.ok(
      r.local.some((l: string) => /^-A SKT-EXT-ABC -j SKT-SEP-/.test(l)),
      r.local.join('\n'),
    );
    assert.notEqual(r.failed, 'no');
    assert.deepEqual(drop(r.retried), expectDrop, r.retried.join('\n'));
    assert.deepEqual(
      r.retried.filter((l: string) => l.startsWith('-A SKT-EXT-ABC')),
      [],
      r.retried.join('\n'),
    );
    assert.ok(
      r.retried.some((l: string) => /^-A SKT-NODEPORTS .*--dport 30778 .*-j SKT-EXT-DEF/.test(l)),
      'the other Service is still there',
    );
    assert.deepEqual(
      r.clean.filter((l: string) => l.includes('SKT')),
      [],
    );
  });
});
