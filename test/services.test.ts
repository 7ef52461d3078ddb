/**
 * Services on a real node: the agent's kernel proxy (iptables) and its cluster DNS, with real pods on containerd.
 * From inside pods: the short name and the FQDN reach each of 3 replicas in strict turn; scaling and readiness change
 * the rotation; a pod reaches itself through its own Service (hairpin). From the host: node ports, REJECT without
 * endpoints, and DNS answers checked with dig (A, headless, SRV, NXDOMAIN). Rules are gone after the agent stops.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { kubectlOk } from './harness/kubectl.ts';
import { eventually } from './harness/eventually.ts';
import { inPod } from './harness/pods.ts';
import { Client } from '../lib/kube/client.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { EndpointSlices, Pods } from '../lib/kube/resources.ts';

const missing =
  process.getuid?.() !== 0
    ? 'not root'
    : !existsSync('/usr/bin/containerd')
      ? 'containerd is not installed'
      : !existsSync('/usr/bin/dig')
        ? 'dig is not installed (apt-get install -y dnsutils)'
        : '';
const NS = 'default';
const suffix = Math.random().toString(36).slice(2, 7);
const NODE = `svc-e2e-${suffix}`;
const BRIDGE = `sks${suffix}`;
const PREFIX = `SK${BRIDGE.slice(-6).toUpperCase()}`;
const DNS = `169.254.22.${1 + Math.floor(Math.random() * 250)}`;
// Service and pod ranges of this run only: clusters of tests running side by side share the host's iptables
const SERVICE_CIDR = `10.${60 + Math.floor(Math.random() * 40)}.0.0/16`;
const CLUSTER_CIDR = `10.${150 + Math.floor(Math.random() * 40)}.0.0/16`;
const BUSYBOX = 'skiff.local/busybox:1.35';
const execAsync = promisify(execFile);

/** pods of app=<name> serving their own name at /i on 8080; optional readiness on /tmp/ready */
function deployment(name: string, replicas: number, extra = ''): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'web',
              image: BUSYBOX,
              command: ['sh', '-c', `hostname > /tmp/i; ${extra} exec httpd -f -p 8080 -h /tmp`],
              ports: [{ name: 'http', containerPort: 8080 }],
            },
          ],
        },
      },
    },
  };
}

function service(name: string, spec: any = {}): any {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }], ...spec },
  };
}

describe('services: kernel proxy and cluster DNS', { skip: missing || undefined }, () => {
  let s: SkiffProcess;
  let c: Client;
  const apply = (obj: any) => kubectlOk(s.kubeconfig, ['apply', '-f', '-'], { input: JSON.stringify(obj) });
  const dig = async (...args: string[]) =>
    (await execAsync('dig', [`@${DNS}`, '+time=5', '+tries=2', ...args], { encoding: 'utf8' })).stdout;
  const vip = (name: string) => kubectlOk(s.kubeconfig, ['get', 'svc', name, '-o', 'jsonpath={.spec.clusterIP}']);
  const curl = async (url: string) => {
    try {
      // a bound for a connection that hangs; what is refused or answers does so at once
      const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      return (await r.text()).trim();
    } catch (e) {
      return `error: ${(e as Error).cause ? ((e as Error).cause as Error).message : (e as Error).message}`;
    }
  };
  const readyEndpoints = async (svc: string) =>
    (
      await c.list<KubeObject>(EndpointSlices, { namespace: NS, labelSelector: `kubernetes.io/service-name=${svc}` })
    ).items.flatMap((sl: any) => (sl.endpoints ?? []).filter((e: any) => e.conditions?.ready !== false));

  /** for scripts run with inPod */
  const scriptPod = { namespace: NS, image: BUSYBOX };

  before(async () => {
    s = await startSkiff({
      agent: true,
      args: [
        '--node-name',
        NODE,
        '--bridge',
        BRIDGE,
        '--cluster-cidr',
        CLUSTER_CIDR,
        '--service-cidr',
        SERVICE_CIDR,
        '--cluster-dns',
        DNS,
      ],
    });
    c = await Client.fromKubeconfig(s.kubeconfig);
    apply(deployment('web', 3));
    apply(service('web'));
    kubectlOk(s.kubeconfig, ['rollout', 'status', 'deployment/web', '--timeout=100s']);
    await eventually('3 ready endpoints', async () => (await readyEndpoints('web')).length === 3, 60_000);
    // the node's proxy rules and DNS follow the endpoints and the Service on their own time: the tests start once both
    // have them
    const ip = vip('web');
    await eventually(
      'the web VIP reaches all 3 pods in turn',
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 3; i++) seen.add(await curl(`http://${ip}/i`));
        return seen.size === 3 && [...seen].every((n) => n.startsWith('web-'));
      },
      60_000,
    );
    await eventually(
      'the cluster DNS knows web',
      async () => (await dig('+short', 'web.default.svc.cluster.local')).trim() === ip,
      60_000,
    );
  });

  after(async () => {
    c?.close();
    if (!s) return;
    const code = await s.stop();
    const left = execFileSync('iptables-save', { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(PREFIX) || l.includes(BRIDGE));
    const dnsLeft = execFileSync('ip', ['-o', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' }).includes(DNS);
    s.cleanup();
    assert.equal(code, 0, s.output());
    assert.deepEqual(left, [], 'iptables rules left behind after the agent stopped');
    assert.equal(dnsLeft, false, 'the DNS address is left on lo');
  });

  it('from a pod, the short name and the FQDN reach each of 3 replicas in strict turn', async () => {
    const { out } = await inPod(
      c,
      'rr',
      'for i in 1 2 3 4 5 6; do timeout 15 wget -q -O- http://web/i; done; for i in 1 2 3; do timeout 15 wget -q -O- http://web.default.svc.cluster.local/i; done',
      scriptPod,
    );
    const names = out.trim().split('\n');
    assert.equal(names.length, 9, out);
    assert.equal(new Set(names.slice(0, 3)).size, 3, `the first three answers come from three pods: ${names}`);
    for (let i = 3; i < 9; i++)
      assert.equal(names[i], names[i - 3], `strict rotation: answer ${i} repeats answer ${i - 3}: ${names}`);
    // the same from a shell in a running pod, through kubectl exec
    const inside = (await c.list<KubeObject>(Pods, { namespace: NS, labelSelector: 'app=web' })).items[0].metadata
      .name!;
    const viaExec = kubectlOk(s.kubeconfig, [
      'exec',
      inside,
      '--',
      'sh',
      '-c',
      'for i in 1 2 3 4 5 6; do wget -q -O- http://web/i; done',
    ])
      .trim()
      .split('\n');
    assert.equal(new Set(viaExec.slice(0, 3)).size, 3, `three pods in turn: ${viaExec}`);
    assert.deepEqual(viaExec.slice(3), viaExec.slice(0, 3));
  });

  it('node port from the host (node address and 127.0.0.1); a Service without endpoints rejects (no wait for a timeout)', async () => {
    apply(service('web-np', { selector: { app: 'web' }, type: 'NodePort' }));
    const np = kubectlOk(s.kubeconfig, ['get', 'svc', 'web-np', '-o', 'jsonpath={.spec.ports[0].nodePort}']);
    const nodeIP = kubectlOk(s.kubeconfig, [
      'get',
      'node',
      NODE,
      '-o',
      'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}',
    ]);
    const a = await eventually(
      'node port answers',
      async () => (await curl(`http://${nodeIP}:${np}/i`)).startsWith('web-') && curl(`http://${nodeIP}:${np}/i`),
      60_000,
      100,
    );
    assert.match(a, /^web-/);
    assert.match(await curl(`http://127.0.0.1:${np}/i`), /^web-/);
    apply(service('empty', { selector: { app: 'nothing' } }));
    const ip = vip('empty');
    // refused, as the REJECT rule does: a dropped packet would leave the client waiting instead
    const r = await eventually(
      'rejected',
      async () => {
        const r = await curl(`http://${ip}/`);
        return /ECONNREFUSED/.test(r) && r;
      },
      60_000,
      100,
    );
    assert.match(r, /ECONNREFUSED/);
  });

  it('sessionAffinity ClientIP keeps a client on one endpoint', async () => {
    apply(service('sticky', { selector: { app: 'web' }, sessionAffinity: 'ClientIP' }));
    const ip = vip('sticky');
    const first = await eventually(
      'sticky answers',
      async () => {
        const r = await curl(`http://${ip}/i`);
        return r.startsWith('web-') && r;
      },
      60_000,
      100,
    );
    for (let i = 0; i < 5; i++) assert.equal(await curl(`http://${ip}/i`), first);
  });

  it("UDP Services: a pod's DNS query to a UDP virtual IP reaches the endpoint", async () => {
    // the endpoint is a tiny DNS responder in this test process on the node's address, behind a selector-less Service
    const nodeIP = kubectlOk(s.kubeconfig, [
      'get',
      'node',
      NODE,
      '-o',
      'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}',
    ]);
    /** a DNS responder on the node's address answering every A query with `address` */
    const responderAnswering = async (address: string) => {
      const sock = dgram.createSocket('udp4');
      sock.on('message', (msg, rinfo) => {
        const q = dnsPacket.decode(msg);
        const answer = {
          id: q.id,
          type: 'response' as const,
          flags: dnsPacket.AUTHORITATIVE_ANSWER,
          questions: q.questions,
          answers: [{ name: q.questions![0].name, type: 'A' as const, ttl: 5, data: address }],
        };
        sock.send(dnsPacket.encode(answer), rinfo.port, rinfo.address);
      });
      await new Promise<void>((r) => sock.bind(0, nodeIP, () => r()));
      return sock;
    };
    /** Service udp (port 53) with its one endpoint: the node's address at `port` */
    const udpServiceTo = (port: number) => {
      apply({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'udp-1', namespace: NS, labels: { 'kubernetes.io/service-name': 'udp' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: [nodeIP], conditions: { ready: true } }],
        ports: [{ name: 'dns', port, protocol: 'UDP' }],
      });
      apply({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'udp', namespace: NS },
        spec: { ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: port }] },
      });
    };
    const responder = await responderAnswering('192.0.2.123');
    try {
      udpServiceTo(responder.address().port);
      const ip = vip('udp');
      const { out } = await inPod(
        c,
        'udp-client',
        // the node's rules may follow the Service after the pod starts: ask until the endpoint answers
        `until nslookup anything.example ${ip}; do sleep 0.3; done`,
        scriptPod,
      );
      assert.match(out, /Address: 192\.0\.2\.123/);
      // a flow from one client port keeps its conntrack entry; when the endpoint goes away the entry must go with it
      const second = await responderAnswering('192.0.2.124');
      const client = dgram.createSocket('udp4');
      await new Promise<void>((r) => client.bind(0, () => r()));
      const ask = () =>
        new Promise<string>((resolve) => {
          // an attempt's bound (a lost datagram is asked again by the caller)
          const t = setTimeout(() => resolve('timeout'), 2000);
          client.once('message', (m) => {
            clearTimeout(t);
            resolve(((dnsPacket.decode(m).answers ?? [])[0] as any)?.data ?? 'empty');
          });
          client.send(
            dnsPacket.encode({ id: 7, type: 'query', questions: [{ name: 'x.example', type: 'A' }] }),
            53,
            ip,
          );
        });
      try {
        assert.equal(
          await eventually(
            'the first endpoint answers',
            async () => ((await ask()) === '192.0.2.123' ? 'ok' : undefined),
            60_000,
            100,
          ),
          'ok',
        );
        udpServiceTo(second.address().port);
        // the same client port: without the stale conntrack entry removed, this would keep reaching the first endpoint
        const moved = await eventually(
          'the same UDP flow reaches the new endpoint',
          async () => ((await ask()) === '192.0.2.124' ? 'ok' : undefined),
          60_000,
          100,
        );
        assert.equal(moved, 'ok');
      } finally {
        client.close();
        second.close();
      }
    } finally {
      responder.close();
    }
  });

  // (how soon the rules follow is a figure for bench/, not a test)
  it('scaling to 1 and back changes the rotation after the endpoints', async () => {
    const ip = vip('web');
    kubectlOk(s.kubeconfig, ['scale', 'deployment/web', '--replicas=1']);
    await eventually('1 ready endpoint', async () => (await readyEndpoints('web')).length === 1, 60_000);
    const one = await eventually(
      'only the survivor answers',
      async () => {
        const a = [await curl(`http://${ip}/i`), await curl(`http://${ip}/i`), await curl(`http://${ip}/i`)];
        return new Set(a).size === 1 && a[0].startsWith('web-') && a;
      },
      60_000,
    );
    kubectlOk(s.kubeconfig, ['scale', 'deployment/web', '--replicas=3']);
    await eventually('3 ready endpoints again', async () => (await readyEndpoints('web')).length === 3, 60_000);
    await eventually(
      'three pods in the rotation again',
      async () => {
        const a = [await curl(`http://${ip}/i`), await curl(`http://${ip}/i`), await curl(`http://${ip}/i`)];
        return new Set(a).size === 3;
      },
      60_000,
    );
    assert.ok(one.length === 3);
  });

  it('a pod that turns unready leaves the rotation', async () => {
    // two pods behind one Service: flaky-b turns unready once both served, when the test removes its readiness file
    for (const name of ['flaky-a', 'flaky-b']) {
      const pod = deployment('flaky', 1, 'touch /tmp/ready;').spec.template;
      pod.spec.containers[0].readinessProbe = { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1 };
      apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: NS, labels: pod.metadata.labels },
        spec: pod.spec,
      });
    }
    apply(service('flaky'));
    await eventually('2 ready endpoints', async () => (await readyEndpoints('flaky')).length === 2, 60_000);
    const ip = vip('flaky');
    kubectlOk(s.kubeconfig, ['exec', 'flaky-b', '--', 'rm', '/tmp/ready']);
    await eventually(
      'one pod left the endpoints',
      async () => (await readyEndpoints('flaky')).length === 1,
      60_000,
      100,
    );
    assert.equal((await readyEndpoints('flaky'))[0].targetRef.name, 'flaky-a');
    // the rules follow the endpoint change
    await eventually(
      'only flaky-a answers',
      async () => {
        const answers = [];
        for (let i = 0; i < 4; i++) answers.push(await curl(`http://${ip}/i`));
        return answers.every((a) => a === 'flaky-a');
      },
      60_000,
    );
  });

  it('a pod reaches itself through its own Service (hairpin)', async () => {
    apply(
      deployment(
        'self',
        1,
        // fetches its own page through the Service as soon as the node's rules let it (the test's wait bounds it)
        '(until timeout 10 wget -q -O /tmp/hairpin http://self/i; do sleep 0.3; done) &',
      ),
    );
    apply(service('self'));
    const pod = await eventually(
      'self running',
      async () =>
        (await c.list<KubeObject>(Pods, { namespace: NS, labelSelector: 'app=self' })).items.find(
          (p) => p.status?.podIP,
        ),
      60_000,
    );
    const got = await eventually(
      'the pod fetched its own page through the VIP',
      async () => {
        const r = await curl(`http://${pod.status.podIP}:8080/hairpin`);
        return r.startsWith('self-') && r;
      },
      90_000,
      300,
    );
    assert.equal(got, pod.metadata.name);
  });

  it("cluster DNS answers A, headless, SRV and NXDOMAIN (dig against the node's DNS address)", async () => {
    assert.equal((await dig('+short', 'web.default.svc.cluster.local')).trim(), vip('web'));
    apply(service('web-headless', { selector: { app: 'web' }, clusterIP: 'None' }));
    await eventually(
      'headless service has 3 endpoints',
      async () => (await readyEndpoints('web-headless')).length === 3,
      60_000,
    );
    const podIPs = (await c.list<KubeObject>(Pods, { namespace: NS, labelSelector: 'app=web' })).items
      .map((p) => p.status.podIP)
      .sort();
    const headless = await eventually(
      'headless answers',
      async () => {
        const a = (await dig('+short', 'web-headless.default.svc.cluster.local')).trim().split('\n').sort();
        return a.length === 3 && a;
      },
      60_000,
      200,
    );
    assert.deepEqual(headless, podIPs);
    const srv = (await dig('+short', 'SRV', '_http._tcp.web.default.svc.cluster.local')).trim();
    assert.equal(srv, '0 100 80 web.default.svc.cluster.local.');
    const nx = await dig('nosuch.default.svc.cluster.local');
    assert.match(nx, /status: NXDOMAIN/);
    assert.match(nx, /SOA/);
    // and from a pod, with the search path
    const { out } = await inPod(
      c,
      'dnsq',
      'nslookup web-headless.default.svc.cluster.local | grep -c "^Address: 10\\."',
      scriptPod,
    );
    assert.equal(out.trim(), '3');
  });
});
