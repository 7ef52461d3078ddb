/**
 * Two nodes on one machine: `skiff server` without an agent of its own, and two `skiff agent`s, each in a network
 * namespace of its own acting as a host on a bridged lab network (test/harness/netns.ts), with its own containerd,
 * CNI bridge and iptables. Checks that each node gets a pod CIDR from --cluster-cidr, that pods placed by the
 * scheduler with a nodeSelector get addresses of their own node's range, and that pods on different nodes reach each
 * other over the host-gw routes in both directions with the client's pod IP as the source the server sees (no
 * masquerading inside the cluster network). Services across nodes: from a pod on either node, a ClusterIP Service's
 * DNS names (the node's own cluster DNS) reach the pods of both nodes in strict turn; node ports seen from the lab's
 * router: externalTrafficPolicy Local answers from the node's own pod with the client's address kept and drops on a
 * node without one, Cluster reaches both nodes' pods. Stopping the agents must stop their pods and containerds and
 * leave nothing behind (no proxy rules, no DNS address). Skipped, saying why, where root, containerd, nsenter or
 * busybox is missing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ROOT, releaseFolder, startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { hasKubectl, kubectlOk } from './harness/kubectl.ts';
import { eventually } from './harness/eventually.ts';
import { inPod } from './harness/pods.ts';
import {
  cidrsOverlap,
  createNetnsLab,
  freeRange,
  netnsLabMissing,
  type LabHost,
  type NetnsLab,
} from './harness/netns.ts';
import { Client } from '../lib/kube/client.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { EndpointSlices, Pods, Services } from '../lib/kube/resources.ts';
import { DEFAULT_CLUSTER_DNS } from '../node-agent/dns/local-address.ts';

const missing =
  netnsLabMissing() ||
  (!existsSync('/usr/bin/containerd')
    ? 'containerd is not installed (apt-get install -y containerd runc containernetworking-plugins)'
    : '') ||
  (!existsSync('/bin/busybox') ? 'busybox is not installed (apt-get install -y busybox-static)' : '') ||
  (!hasKubectl() ? 'kubectl is not installed' : '');
const BUSYBOX = `skiff.local/busybox:${/v(\d+\.\d+\.\d+)/.exec(existsSync('/bin/busybox') ? execFileSync('/bin/busybox', [], { encoding: 'utf8' }) : '')?.[1] ?? 'latest'}`;
const NS = 'default';
const suffix = Math.random().toString(36).slice(2, 7).padEnd(5, '0');

/** pids of the processes whose command line mentions `text` */
function processesWith(text: string): string[] {
  return readdirSync('/proc').filter((pid) => {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
    } catch {
      return false;
    }
  });
}

const CGROUP_V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

/** the node's cgroup folders: one on cgroup v2, one per v1 hierarchy (a hybrid host's "unified" v2 mount is checked on its own) */
function nodeCgroupDirs(node: string): string[] {
  if (CGROUP_V2) return [`/sys/fs/cgroup/skiff/${node}`];
  return readdirSync('/sys/fs/cgroup')
    .filter((h) => h !== 'unified' && existsSync(`/sys/fs/cgroup/${h}/cgroup.procs`))
    .map((h) => `/sys/fs/cgroup/${h}/skiff/${node}`);
}

/** removes the empty cgroups a node's pods left below skiff/<node> in every hierarchy (a test must not leave them) */
function removeNodeCgroups(node: string): void {
  const remove = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) remove(path.join(dir, e.name));
    try {
      rmdirSync(dir);
    } catch {
      /* still in use: leave it to the kernel's owner */
    }
  };
  if (CGROUP_V2) remove(`/sys/fs/cgroup/skiff/${node}`);
  else for (const h of readdirSync('/sys/fs/cgroup')) remove(`/sys/fs/cgroup/${h}/skiff/${node}`);
}

interface AgentProcess {
  node: string;
  host: LabHost;
  dataDir: string;
  child: ChildProcess;
  output(): string;
  /** SIGINT and wait (SIGKILL after 40 s); the exit code */
  stop(): Promise<number | null>;
}

/** `skiff agent` inside the host's network namespace; containerd, shims and pods inherit it */
function startAgent(
  lab: NetnsLab,
  host: LabHost,
  node: string,
  server: string,
  token: string,
  clusterCIDR: string,
): AgentProcess {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `skiff-mn-${node}-`));
  const args = [
    ...lab.enter(host),
    path.join(ROOT, 'bin/skiff'),
    'agent',
    '--server',
    server,
    '--node-name',
    node,
    '--node-ip',
    host.ip,
    '--data-dir',
    dataDir,
    '--cluster-cidr',
    clusterCIDR,
    '--stop-pods-on-exit',
  ];
  // the join token goes in the environment, not the command line
  const child = spawn(args[0], args.slice(1), {
    cwd: ROOT,
    env: { ...process.env, SKIFF_TOKEN: token, SKIFF_DATA_DIR: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  process.on('exit', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    node,
    host,
    dataDir,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 40_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** a web server answering / with the image's index page and /cgi-bin/ip with the address the request came from */
function webPod(name: string, node: string): KubeObject {
  const script =
    'mkdir -p /var/www/cgi-bin && printf \'#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho "$REMOTE_ADDR"\\n\' > /var/www/cgi-bin/ip && chmod 755 /var/www/cgi-bin/ip && exec httpd -f -p 8080 -h /var/www';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { app: 'mn-web' } },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': node },
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'httpd',
          image: BUSYBOX,
          command: ['sh', '-c', script],
          ports: [{ containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
        },
      ],
    },
  };
}

/** fetches both pages of `target` once and reports them as its termination message; fails when a fetch fails */
function clientPod(name: string, node: string, target: string): KubeObject {
  const url = `http://${target}:8080`;
  const script = [
    `body=$(timeout 15 wget -q -O- ${url}/) || { echo "GET ${url}/ failed: $?" > /dev/termination-log; exit 1; }`,
    `from=$(timeout 15 wget -q -O- ${url}/cgi-bin/ip) || { echo "GET ${url}/cgi-bin/ip failed: $?" > /dev/termination-log; exit 1; }`,
    'echo "$body|$from" > /dev/termination-log',
  ].join('; ');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': node },
      restartPolicy: 'Never',
      containers: [{ name: 'wget', image: BUSYBOX, command: ['sh', '-c', script] }],
    },
  };
}

/** a member of the Services' pods: serves its own name at /name and the peer's address at /cgi-bin/ip on 8080 */
function servicePod(name: string, node: string, side: string): KubeObject {
  const pod = webPod(name, node);
  pod.metadata.labels = { app: 'mn-svc', 'mn-side': side };
  const c = pod.spec.containers[0];
  c.command = ['sh', '-c', `hostname > /var/www/name && ${c.command[2]}`];
  c.ports = [{ name: 'http', containerPort: 8080 }];
  c.readinessProbe.httpGet.path = '/name';
  return pod;
}

/** a Service on port 80 of the pods of mn-svc (narrowed by `selector`), to their port named http */
function service(name: string, spec: Record<string, unknown> = {}, selector: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: {
      selector: { app: 'mn-svc', ...selector },
      ports: [{ name: 'http', port: 80, targetPort: 'http' }],
      ...spec,
    },
  };
}

/**
 * One GET on a connection of its own, as a client outside the nodes: the body, `timeout` when nothing answers in time,
 * or `error: CODE`. The default wait is long enough for a loaded machine; a shorter one is for a drop, which never
 * answers.
 */
function get(url: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    // the CGI script's headers end in a bare LF, which busybox httpd passes on as they are
    const req = http.get(url, { agent: false, timeout: timeoutMs, insecureHTTPParser: true }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : `error: HTTP ${res.statusCode}`));
      res.on('error', (e) => resolve(`error: ${e.message}`));
    });
    req.on('timeout', () => {
      resolve('timeout');
      req.destroy();
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(`error: ${e.code ?? e.message}`));
  });
}

/** httpd listens on a dual-stack socket: IPv4 peers show as [::ffff:a.b.c.d] */
function peer(seen: string): string {
  return /^\[::ffff:(\d+\.\d+\.\d+\.\d+)\]$/.exec(seen)?.[1] ?? seen;
}

/** every answer differs from the one before: strict turns over two endpoints */
function alternates(names: string[]): boolean {
  return names.every((n, i) => i === 0 || n !== names[i - 1]);
}

describe('two nodes in network namespaces: pod traffic across nodes', { skip: missing || undefined }, () => {
  let lab: NetnsLab | undefined;
  let server: SkiffProcess | undefined;
  let client: Client | undefined;
  let kubeconfig = '';
  let clusterCIDR = '';
  const agents: AgentProcess[] = [];
  const nodes = [`mn-a-${suffix}`, `mn-b-${suffix}`];
  const t0 = Date.now();

  before(async () => {
    lab = createNetnsLab({ hosts: 2, id: suffix });
    // a cluster range no interface or route of this machine uses, away from the one test/node-agent.test.ts picks
    clusterCIDR = freeRange(() => `10.${100 + Math.floor(Math.random() * 50)}.0.0/16`);
    assert.ok(!cidrsOverlap(clusterCIDR, lab.subnet));
    // the agents reach the API server on the lab bridge's address; a later --bind-address wins over the harness's
    server = await startSkiff({ args: ['--cluster-cidr', clusterCIDR, '--bind-address', '0.0.0.0'] });
    kubeconfig = server.kubeconfig;
    client = await Client.fromKubeconfig(kubeconfig);
    const token = readFileSync(path.join(server.dataDir, 'node-token'), 'utf8').trim();
    for (const [i, node] of nodes.entries())
      agents.push(startAgent(lab, lab.hosts[i], node, `https://${lab.bridgeIP}:${server.port}`, token, clusterCIDR));
    let exited: AgentProcess | undefined;
    await eventually(
      'both nodes Ready with a pod CIDR',
      () => {
        // an agent that exits fails the wait at once
        exited = agents.find((a) => a.child.exitCode !== null);
        if (exited) return true;
        const list = JSON.parse(kubectlOk(kubeconfig, ['get', 'nodes', '-o', 'json'])).items as KubeObject[];
        return nodes.every((n) => {
          const node = list.find((x) => x.metadata.name === n);
          return (
            node?.spec?.podCIDR && node.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')
          );
        });
      },
      120_000,
      250,
    ).catch((e) => {
      throw new Error(
        `${(e as Error).message}\n${agents.map((a) => `--- agent ${a.node}:\n${a.output()}`).join('\n')}`,
      );
    });
    if (exited) throw new Error(`agent ${exited.node} exited (code ${exited.child.exitCode}):\n${exited.output()}`);
  });

  after(async () => {
    client?.close();
    // a safety net: the last tests stop the agents and check what they leave; here whatever is left goes
    const codes = await Promise.all(agents.map((a) => a.stop()));
    const serverCode = await server?.stop();
    for (const a of agents) releaseFolder(a.dataDir);
    server?.cleanup();
    for (const node of nodes) removeNodeCgroups(node);
    const network = lab?.teardown() ?? [];
    console.log(`# multinode: ${((Date.now() - t0) / 1000).toFixed(1)} s from lab creation to teardown`);
    for (const [i, a] of agents.entries())
      assert.equal(codes[i], 0, `agent ${a.node} exit code ${codes[i]}:\n${a.output()}`);
    if (server) assert.equal(serverCode, 0, server.output());
    assert.deepEqual(network, [], 'the lab network was not fully removed');
  });

  it('gives each node a pod CIDR of the cluster range, and host-gw routes to the other node in each namespace', async () => {
    const list = JSON.parse(kubectlOk(kubeconfig, ['get', 'nodes', '-o', 'json'])).items as KubeObject[];
    const [a, b] = nodes.map((n) => list.find((x) => x.metadata.name === n)!);
    for (const [i, n] of [a, b].entries()) {
      assert.ok(
        cidrsOverlap(n.spec.podCIDR, clusterCIDR) && n.spec.podCIDR.endsWith('/24'),
        `${n.metadata.name} podCIDR ${n.spec.podCIDR} in ${clusterCIDR}`,
      );
      assert.equal(n.status.addresses.find((x: any) => x.type === 'InternalIP')?.address, lab!.hosts[i].ip);
    }
    assert.ok(!cidrsOverlap(a.spec.podCIDR, b.spec.podCIDR), `distinct pod CIDRs ${a.spec.podCIDR} ${b.spec.podCIDR}`);
    // each host routes the other's pod range via the other's address (the agents add these from the Node objects)
    const routeVia = (from: LabHost, cidr: string, via: LabHost) =>
      eventually(
        `${from.netns}: route to ${cidr} via ${via.ip}`,
        () => lab!.exec(from, ['ip', '-4', 'route', 'show', cidr]).trim() === `${cidr} via ${via.ip} dev eth0`,
        30_000,
        100,
      );
    await routeVia(lab!.hosts[0], b.spec.podCIDR, lab!.hosts[1]);
    await routeVia(lab!.hosts[1], a.spec.podCIDR, lab!.hosts[0]);
    // the test's own namespace has no route to either pod range: traffic between the pods can only go host to host
    for (const n of [a, b])
      assert.equal(spawnSync('ip', ['-4', 'route', 'show', n.spec.podCIDR], { encoding: 'utf8' }).stdout.trim(), '');
  });

  it("pods on different nodes reach each other both ways, addressed from their own node's range, source IP kept", async () => {
    const c = client!;
    const [na, nb] = nodes;
    await c.create(Pods, webPod('web-a', na));
    await c.create(Pods, webPod('web-b', nb));
    const ready = (name: string) =>
      eventually(
        `${name} Ready`,
        async () => {
          const p = await c.get<KubeObject>(Pods, NS, name);
          return (
            p.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True') && p.status.podIP && p
          );
        },
        90_000,
        200,
      );
    const [webA, webB] = await Promise.all([ready('web-a'), ready('web-b')]);
    const nodeObjs = JSON.parse(kubectlOk(kubeconfig, ['get', 'nodes', '-o', 'json'])).items as KubeObject[];
    const cidrOf = (n: string) => nodeObjs.find((x) => x.metadata.name === n)!.spec.podCIDR as string;
    for (const [p, n, host] of [
      [webA, na, lab!.hosts[0]],
      [webB, nb, lab!.hosts[1]],
    ] as const) {
      assert.equal(p.spec.nodeName, n, 'the scheduler placed the pod by its nodeSelector');
      assert.equal(p.status.hostIP, host.ip);
      assert.ok(
        cidrsOverlap(`${p.status.podIP}/32`, cidrOf(n)),
        `${p.metadata.name} IP ${p.status.podIP} is in ${n}'s pod CIDR ${cidrOf(n)}`,
      );
    }

    // a on node A fetches from b on node B, and the other way round
    await c.create(Pods, clientPod('client-a', na, webB.status.podIP));
    await c.create(Pods, clientPod('client-b', nb, webA.status.podIP));
    const done = (name: string) =>
      eventually(
        `${name} finished`,
        async () => {
          const p = await c.get<KubeObject>(Pods, NS, name);
          return (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') && p;
        },
        90_000,
        200,
      );
    const [ca, cb] = await Promise.all([done('client-a'), done('client-b')]);
    for (const [p, n, target] of [
      [ca, na, webB],
      [cb, nb, webA],
    ] as const) {
      const message = (p.status.containerStatuses?.[0]?.state?.terminated?.message ?? '').trim();
      assert.equal(p.status.phase, 'Succeeded', `${p.metadata.name} -> ${target.status.podIP}: ${message}`);
      assert.equal(p.spec.nodeName, n);
      assert.ok(
        cidrsOverlap(`${p.status.podIP}/32`, cidrOf(n)),
        `${p.metadata.name} IP ${p.status.podIP} in ${cidrOf(n)}`,
      );
      const [body, seen] = message.split('|');
      // httpd listens on a dual-stack socket: IPv4 peers show as [::ffff:a.b.c.d]
      const from = /^\[::ffff:(\d+\.\d+\.\d+\.\d+)\]$/.exec(seen ?? '')?.[1] ?? seen;
      assert.equal(body, 'skiff busybox httpd', `${p.metadata.name} got the other node's page`);
      // the web server saw the client pod's own address: not masqueraded to the node's address on the way
      assert.equal(
        from,
        p.status.podIP,
        `${target.metadata.name} saw the request come from ${from}, the client pod is ${p.status.podIP} on ${n}`,
      );
    }
  });

  /** svc-a on node A and svc-b on node B, Ready, created once for the Service tests */
  let servicePodsReady: Promise<KubeObject[]> | undefined;
  const servicePods = () =>
    (servicePodsReady ??= (async () => {
      const c = client!;
      const pods = [servicePod('svc-a', nodes[0], 'a'), servicePod('svc-b', nodes[1], 'b')];
      for (const p of pods) await c.create(Pods, p);
      return Promise.all(
        pods.map((p) =>
          eventually(
            `${p.metadata.name} Ready`,
            async () => {
              const x = await c.get<KubeObject>(Pods, NS, p.metadata.name!);
              return (
                x.status?.conditions?.some((k: any) => k.type === 'Ready' && k.status === 'True') && x.status.podIP && x
              );
            },
            90_000,
            200,
          ),
        ),
      );
    })());

  /** waits until `svc`'s EndpointSlices list exactly `pods` as ready endpoints */
  const endpointsAre = (svc: string, pods: KubeObject[]) =>
    eventually(
      `${svc} has the endpoints ${pods.map((p) => p.metadata.name)}`,
      async () => {
        const slices = (
          await client!.list<KubeObject>(EndpointSlices, {
            namespace: NS,
            labelSelector: `kubernetes.io/service-name=${svc}`,
          })
        ).items;
        const ready = slices.flatMap((sl: any) =>
          (sl.endpoints ?? [])
            .filter((e: any) => e.conditions?.ready !== false)
            .map((e: any) => `${e.targetRef?.name}@${e.nodeName}`),
        );
        return (
          ready.sort().join(',') ===
          pods
            .map((p) => `${p.metadata.name}@${p.spec.nodeName}`)
            .sort()
            .join(',')
        );
      },
      60_000,
      100,
    );

  it('a Service with endpoints on both nodes: from a pod on either node, its DNS names reach both endpoints in strict turn', async () => {
    const c = client!;
    const pods = await servicePods();
    await c.create(Services, service('web'));
    await endpointsAre('web', pods);
    // each node's proxy has both endpoints, the other node's pod among them, before the clients start
    for (const host of lab!.hosts) {
      await eventually(
        `${host.netns}: rules of default/web to both pods`,
        () => {
          const nat = lab!.exec(host, ['iptables-save', '-t', 'nat']);
          return pods.every((p) => nat.includes(`default/web:http/TCP -> ${p.status.podIP}:8080`));
        },
        30_000,
        100,
      );
      // the node's own cluster DNS address, on its lo
      assert.match(
        lab!.exec(host, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'lo']),
        new RegExp(`inet ${DEFAULT_CLUSTER_DNS.replaceAll('.', '\\.')}/32`),
      );
    }
    const fqdn = 'web.default.svc.cluster.local';
    const script = [
      'grep ^nameserver /etc/resolv.conf | head -n 1',
      // the node's DNS may learn of the Service after the pod starts: ask until it answers (the pod's wait bounds it)
      `until nslookup ${fqdn} > /dev/null 2>&1; do sleep 0.25; done`,
      `for i in 1 2 3 4 5 6; do timeout 15 wget -q -O- http://${fqdn}/name || echo "wget ${fqdn} failed: $?"; done`,
      'for i in 1 2 3 4; do timeout 15 wget -q -O- http://web/name || echo "wget web failed: $?"; done',
    ].join('\n');
    const finished = await Promise.all(
      nodes.map((n, i) =>
        inPod(c, `rr-${'ab'[i]}`, script, { namespace: NS, image: BUSYBOX, spec: { nodeName: n }, timeoutMs: 120_000 }),
      ),
    );
    for (const { pod: p, out: message } of finished) {
      const out = message.trim();
      assert.equal(p.status.phase, 'Succeeded', `${p.metadata.name}: ${out}`);
      const [ns, ...names] = out.split('\n');
      // the pod asks its own node's DNS (node-local address on that node's lo), which answers for both names
      assert.equal(ns.trim(), `nameserver ${DEFAULT_CLUSTER_DNS}`, `${p.metadata.name} on ${p.spec.nodeName}: ${out}`);
      assert.equal(names.length, 10, `${p.metadata.name} on ${p.spec.nodeName}: ${out}`);
      assert.deepEqual(
        [...new Set(names)].sort(),
        ['svc-a', 'svc-b'],
        `${p.metadata.name} on ${p.spec.nodeName} reached both nodes' pods: ${names}`,
      );
      assert.ok(alternates(names), `${p.metadata.name} on ${p.spec.nodeName}: strict round robin: ${names}`);
    }
  });

  it("NodePort from outside the nodes: Local keeps the client address and serves from the node's own endpoint, drops without one; Cluster reaches both", async () => {
    const c = client!;
    const [podA, podB] = await servicePods();
    const [hostA, hostB] = lab!.hosts;
    const local = await c.create<KubeObject>(
      Services,
      service('web-local', { type: 'NodePort', externalTrafficPolicy: 'Local' }),
    );
    const localA = await c.create<KubeObject>(
      Services,
      service('web-local-a', { type: 'NodePort', externalTrafficPolicy: 'Local' }, { 'mn-side': 'a' }),
    );
    const cluster = await c.create<KubeObject>(
      Services,
      service('web-cluster', { type: 'NodePort', externalTrafficPolicy: 'Cluster' }),
    );
    const port = (svc: KubeObject) => svc.spec.ports[0].nodePort as number;
    await Promise.all([
      endpointsAre('web-local', [podA, podB]),
      endpointsAre('web-local-a', [podA]),
      endpointsAre('web-cluster', [podA, podB]),
    ]);
    // the test's namespace is the lab's router: outside both nodes, its address on the lab network is the client's
    const clientIP = lab!.bridgeIP;
    const answers = async (host: string, svc: KubeObject, path: string, n: number, timeoutMs?: number) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(await get(`http://${host}:${port(svc)}${path}`, timeoutMs));
      return out;
    };
    const firstAnswer = async (host: string, svc: KubeObject) => {
      let last = '';
      await eventually(
        `${svc.metadata.name} answers on ${host}:${port(svc)}`,
        async () => /^svc-/.test((last = await get(`http://${host}:${port(svc)}/name`, 5000))),
        60_000,
        100,
      ).catch((e) => {
        const h = lab!.hosts.find((x) => x.ip === host)!;
        throw new Error(
          `${(e as Error).message}; last answer: ${last}\n--- ${h.netns} rules:\n${lab!.exec(h, ['iptables-save'])}`,
        );
      });
    };

    // Local: each node answers with its own pod only, which sees the client's own address
    for (const [host, pod] of [
      [hostA, podA],
      [hostB, podB],
    ] as const) {
      await firstAnswer(host.ip, local);
      assert.deepEqual(
        await answers(host.ip, local, '/name', 4),
        Array(4).fill(pod.metadata.name),
        `web-local on ${host.ip} is served by ${pod.metadata.name} only`,
      );
      assert.deepEqual(
        (await answers(host.ip, local, '/cgi-bin/ip', 2)).map(peer),
        [clientIP, clientIP],
        `web-local on ${host.ip}: the client address is kept`,
      );
    }
    // Local with the only endpoint on node A: A serves it, B drops (no answer, not a refusal), as kube-proxy does
    await firstAnswer(hostA.ip, localA);
    assert.deepEqual(await answers(hostA.ip, localA, '/name', 3), Array(3).fill(podA.metadata.name));
    assert.deepEqual((await answers(hostA.ip, localA, '/cgi-bin/ip', 1)).map(peer), [clientIP]);
    // before node B's rules have the Service, nothing listens there and the connection is refused: wait for the drop
    await eventually(
      `web-local-a dropped on ${hostB.ip}:${port(localA)}`,
      async () => (await get(`http://${hostB.ip}:${port(localA)}/name`, 1500)) === 'timeout',
      60_000,
      100,
    );
    assert.deepEqual(
      await answers(hostB.ip, localA, '/name', 2, 1500),
      ['timeout', 'timeout'],
      `web-local-a on ${hostB.ip} (no local endpoint) must not answer`,
    );

    // Cluster: either node's node port reaches both nodes' pods in turn; the pods see a node's address, not the client's
    for (const host of [hostA, hostB]) {
      await firstAnswer(host.ip, cluster);
      const names = await answers(host.ip, cluster, '/name', 6);
      assert.deepEqual([...new Set(names)].sort(), ['svc-a', 'svc-b'], `web-cluster on ${host.ip}: ${names}`);
      assert.ok(alternates(names), `web-cluster on ${host.ip}: strict round robin: ${names}`);
      const seen = (await answers(host.ip, cluster, '/cgi-bin/ip', 2)).map(peer);
      assert.ok(
        seen.every((s) => /^\d+\.\d+\.\d+\.\d+$/.test(s) && s !== clientIP),
        `web-cluster on ${host.ip}: masqueraded, the pods saw ${seen}`,
      );
    }
  });

  it('stopping the agents stops their pods and containerds, and removes routes, bridge, masquerading and pod cgroups', async () => {
    const codes = await Promise.all(agents.map((a) => a.stop()));
    for (const [i, a] of agents.entries()) {
      assert.equal(codes[i], 0, `agent ${a.node} exit code ${codes[i]}:\n${a.output()}`);
      assert.match(a.output(), /skiff agent: stopped/);
    }
    const leftovers: string[] = [];
    for (const a of agents) {
      const procs = processesWith(`${a.dataDir}/`);
      if (procs.length) leftovers.push(`${a.node}: processes ${procs.join(' ')} still run`);
      const pids = lab!.pids(a.host);
      if (pids.length)
        leftovers.push(`${a.node}: processes ${pids.join(' ')} still in network namespace ${a.host.netns}`);
      const routes = lab!
        .exec(a.host, ['ip', '-4', 'route', 'show'])
        .split('\n')
        .filter((l) => / via /.test(l) && !l.startsWith('default'));
      if (routes.length) leftovers.push(`${a.node}: routes ${routes.join('; ')}`);
      const links = lab!
        .exec(a.host, ['ip', '-o', 'link', 'show'])
        .split('\n')
        .map((l) => l.split(':')[1]?.trim())
        .filter((l) => l && l !== 'lo' && !l.startsWith('eth0'));
      if (links.length) leftovers.push(`${a.node}: interfaces ${links.join(' ')}`);
      const nat = lab!
        .exec(a.host, ['iptables', '-w', '5', '-t', 'nat', '-S'])
        .split('\n')
        .filter((l) => /SKIFF/.test(l));
      if (nat.length) leftovers.push(`${a.node}: nat rules ${nat.join('; ')}`);
      // the service proxy's filter rules (REJECT without endpoints, DROP without a local endpoint) and the DNS address
      const filter = lab!
        .exec(a.host, ['iptables', '-w', '5', '-t', 'filter', '-S'])
        .split('\n')
        .filter((l) => /SKIFF/.test(l));
      if (filter.length) leftovers.push(`${a.node}: filter rules ${filter.join('; ')}`);
      if (lab!.exec(a.host, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'lo']).includes(` ${DEFAULT_CLUSTER_DNS}/`))
        leftovers.push(`${a.node}: cluster DNS address ${DEFAULT_CLUSTER_DNS} on lo`);
      for (const dir of nodeCgroupDirs(a.node)) {
        const pods = existsSync(dir) ? readdirSync(dir).filter((d) => d.startsWith('pod')) : [];
        if (pods.length) leftovers.push(`${a.node}: pod cgroups ${pods.join(' ')} in ${dir}`);
      }
    }
    assert.deepEqual(leftovers, [], 'the agents left things behind');
  });

  it(
    'leaves no pod cgroup in the cgroup v2 hierarchy of a hybrid host (/sys/fs/cgroup/unified)',
    {
      skip: !existsSync('/sys/fs/cgroup/unified/cgroup.procs') && 'no hybrid cgroup v2 hierarchy here',
    },
    () => {
      const left = nodes.flatMap((n) => {
        const dir = `/sys/fs/cgroup/unified/skiff/${n}`;
        return existsSync(dir)
          ? readdirSync(dir)
              .filter((d) => d.startsWith('pod'))
              .map((d) => `${dir}/${d}`)
          : [];
      });
      assert.deepEqual(left, []);
    },
  );
});
