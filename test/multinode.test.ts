/**
 * Two nodes on one machine: `skiff server` without an agent of its own, and two `skiff agent`s, each in a network
 * namespace of its own acting as a host on a bridged lab network (test/harness/netns.ts), with its own containerd,
 * CNI bridge and iptables. Checks that each node gets a pod CIDR from --cluster-cidr, that pods placed by the
 * scheduler with a nodeSelector get addresses of their own node's range, and that pods on different nodes reach each
 * other over the host-gw routes in both directions with the client's pod IP as the source the server sees (no
 * masquerading inside the cluster network). Stopping the agents must stop their pods and containerds and leave
 * nothing behind. Skipped, saying why, where root, containerd, nsenter or busybox is missing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, releaseFolder, startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { hasKubectl, kubectlOk } from './harness/kubectl.ts';
import { eventually } from './harness/eventually.ts';
import { cidrsOverlap, createNetnsLab, freeRange, netnsLabMissing, type LabHost, type NetnsLab } from './harness/netns.ts';
import { Client } from '../lib/kube/client.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { Pods } from '../lib/kube/resources.ts';

const missing =
  netnsLabMissing() ||
  (!existsSync('/usr/bin/containerd') ? 'containerd is not installed (apt-get install -y containerd runc containernetworking-plugins)' : '') ||
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
function startAgent(lab: NetnsLab, host: LabHost, node: string, server: string, token: string, clusterCIDR: string): AgentProcess {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `skiff-mn-${node}-`));
  const args = [
    ...lab.enter(host),
    process.execPath,
    path.join(ROOT, 'bin/skiff.mjs'),
    'agent',
    '--server', server,
    '--node-name', node,
    '--node-ip', host.ip,
    '--data-dir', dataDir,
    '--cluster-cidr', clusterCIDR,
    '--stop-pods-on-exit',
  ];
  // the join token goes in the environment, not the command line
  const child = spawn(args[0], args.slice(1), { cwd: ROOT, env: { ...process.env, SKIFF_TOKEN: token, SKIFF_DATA_DIR: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const script = 'mkdir -p /var/www/cgi-bin && printf \'#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho "$REMOTE_ADDR"\\n\' > /var/www/cgi-bin/ip && chmod 755 /var/www/cgi-bin/ip && exec httpd -f -p 8080 -h /var/www';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { app: 'mn-web' } },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': node },
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'httpd', image: BUSYBOX, command: ['sh', '-c', script], ports: [{ containerPort: 8080 }], readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 } }],
    },
  };
}

/** fetches both pages of `target` once and reports them as its termination message; fails when a fetch fails */
function clientPod(name: string, node: string, target: string): KubeObject {
  const url = `http://${target}:8080`;
  const script = [
    `body=$(timeout 5 wget -q -O- ${url}/) || { echo "GET ${url}/ failed: $?" > /dev/termination-log; exit 1; }`,
    `from=$(timeout 5 wget -q -O- ${url}/cgi-bin/ip) || { echo "GET ${url}/cgi-bin/ip failed: $?" > /dev/termination-log; exit 1; }`,
    'echo "$body|$from" > /dev/termination-log',
  ].join('; ');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { nodeSelector: { 'kubernetes.io/hostname': node }, restartPolicy: 'Never', containers: [{ name: 'wget', image: BUSYBOX, command: ['sh', '-c', script] }] },
  };
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
    for (const [i, node] of nodes.entries()) agents.push(startAgent(lab, lab.hosts[i], node, `https://${lab.bridgeIP}:${server.port}`, token, clusterCIDR));
    let exited: AgentProcess | undefined;
    await eventually('both nodes Ready with a pod CIDR', () => {
      // an agent that exits fails the wait at once
      exited = agents.find((a) => a.child.exitCode !== null);
      if (exited) return true;
      const list = JSON.parse(kubectlOk(kubeconfig, ['get', 'nodes', '-o', 'json'])).items as KubeObject[];
      return nodes.every((n) => {
        const node = list.find((x) => x.metadata.name === n);
        return node?.spec?.podCIDR && node.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
      });
    }, 60_000, 250).catch((e) => {
      throw new Error(`${(e as Error).message}\n${agents.map((a) => `--- agent ${a.node}:\n${a.output()}`).join('\n')}`);
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
    for (const [i, a] of agents.entries()) assert.equal(codes[i], 0, `agent ${a.node} exit code ${codes[i]}:\n${a.output()}`);
    if (server) assert.equal(serverCode, 0, server.output());
    assert.deepEqual(network, [], 'the lab network was not fully removed');
  });

  it('gives each node a pod CIDR of the cluster range, and host-gw routes to the other node in each namespace', async () => {
    const list = JSON.parse(kubectlOk(kubeconfig, ['get', 'nodes', '-o', 'json'])).items as KubeObject[];
    const [a, b] = nodes.map((n) => list.find((x) => x.metadata.name === n)!);
    for (const [i, n] of [a, b].entries()) {
      assert.ok(cidrsOverlap(n.spec.podCIDR, clusterCIDR) && n.spec.podCIDR.endsWith('/24'), `${n.metadata.name} podCIDR ${n.spec.podCIDR} in ${clusterCIDR}`);
      assert.equal(n.status.addresses.find((x: any) => x.type === 'InternalIP')?.address, lab!.hosts[i].ip);
    }
    assert.ok(!cidrsOverlap(a.spec.podCIDR, b.spec.podCIDR), `distinct pod CIDRs ${a.spec.podCIDR} ${b.spec.podCIDR}`);
    // each host routes the other's pod range via the other's address (the agents add these from the Node objects)
    const routeVia = (from: LabHost, cidr: string, via: LabHost) =>
      eventually(`${from.netns}: route to ${cidr} via ${via.ip}`, () => lab!.exec(from, ['ip', '-4', 'route', 'show', cidr]).trim() === `${cidr} via ${via.ip} dev eth0`, 10_000, 100);
    await routeVia(lab!.hosts[0], b.spec.podCIDR, lab!.hosts[1]);
    await routeVia(lab!.hosts[1], a.spec.podCIDR, lab!.hosts[0]);
    // the test's own namespace has no route to either pod range: traffic between the pods can only go host to host
    for (const n of [a, b]) assert.equal(spawnSync('ip', ['-4', 'route', 'show', n.spec.podCIDR], { encoding: 'utf8' }).stdout.trim(), '');
  });

  it('pods on different nodes reach each other both ways, addressed from their own node\'s range, source IP kept', async () => {
    const c = client!;
    const [na, nb] = nodes;
    await c.create(Pods, webPod('web-a', na));
    await c.create(Pods, webPod('web-b', nb));
    const ready = (name: string) =>
      eventually(`${name} Ready`, async () => {
        const p = await c.get<KubeObject>(Pods, NS, name);
        return p.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True') && p.status.podIP && p;
      }, 40_000, 200);
    const [webA, webB] = await Promise.all([ready('web-a'), ready('web-b')]);
    const nodeObjs = JSON.parse(kubectlOk(kubeconfig, ['get', 'nodes', '-o', 'json'])).items as KubeObject[];
    const cidrOf = (n: string) => nodeObjs.find((x) => x.metadata.name === n)!.spec.podCIDR as string;
    for (const [p, n, host] of [[webA, na, lab!.hosts[0]], [webB, nb, lab!.hosts[1]]] as const) {
      assert.equal(p.spec.nodeName, n, 'the scheduler placed the pod by its nodeSelector');
      assert.equal(p.status.hostIP, host.ip);
      assert.ok(cidrsOverlap(`${p.status.podIP}/32`, cidrOf(n)), `${p.metadata.name} IP ${p.status.podIP} is in ${n}'s pod CIDR ${cidrOf(n)}`);
    }

    // a on node A fetches from b on node B, and the other way round
    await c.create(Pods, clientPod('client-a', na, webB.status.podIP));
    await c.create(Pods, clientPod('client-b', nb, webA.status.podIP));
    const done = (name: string) =>
      eventually(`${name} finished`, async () => {
        const p = await c.get<KubeObject>(Pods, NS, name);
        return (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') && p;
      }, 40_000, 200);
    const [ca, cb] = await Promise.all([done('client-a'), done('client-b')]);
    for (const [p, n, target] of [[ca, na, webB], [cb, nb, webA]] as const) {
      const message = (p.status.containerStatuses?.[0]?.state?.terminated?.message ?? '').trim();
      assert.equal(p.status.phase, 'Succeeded', `${p.metadata.name} -> ${target.status.podIP}: ${message}`);
      assert.equal(p.spec.nodeName, n);
      assert.ok(cidrsOverlap(`${p.status.podIP}/32`, cidrOf(n)), `${p.metadata.name} IP ${p.status.podIP} in ${cidrOf(n)}`);
      const [body, seen] = message.split('|');
      // httpd listens on a dual-stack socket: IPv4 peers show as [::ffff:a.b.c.d]
      const from = /^\[::ffff:(\d+\.\d+\.\d+\.\d+)\]$/.exec(seen ?? '')?.[1] ?? seen;
      assert.equal(body, 'skiff busybox httpd', `${p.metadata.name} got the other node's page`);
      // the web server saw the client pod's own address: not masqueraded to the node's address on the way
      assert.equal(from, p.status.podIP, `${target.metadata.name} saw the request come from ${from}, the client pod is ${p.status.podIP} on ${n}`);
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
      if (pids.length) leftovers.push(`${a.node}: processes ${pids.join(' ')} still in network namespace ${a.host.netns}`);
      const routes = lab!.exec(a.host, ['ip', '-4', 'route', 'show']).split('\n').filter((l) => / via /.test(l) && !l.startsWith('default'));
      if (routes.length) leftovers.push(`${a.node}: routes ${routes.join('; ')}`);
      const links = lab!.exec(a.host, ['ip', '-o', 'link', 'show']).split('\n').map((l) => l.split(':')[1]?.trim()).filter((l) => l && l !== 'lo' && !l.startsWith('eth0'));
      if (links.length) leftovers.push(`${a.node}: interfaces ${links.join(' ')}`);
      const nat = lab!.exec(a.host, ['iptables', '-w', '5', '-t', 'nat', '-S']).split('\n').filter((l) => /SKIFF/.test(l));
      if (nat.length) leftovers.push(`${a.node}: nat rules ${nat.join('; ')}`);
      for (const dir of nodeCgroupDirs(a.node)) {
        const pods = existsSync(dir) ? readdirSync(dir).filter((d) => d.startsWith('pod')) : [];
        if (pods.length) leftovers.push(`${a.node}: pod cgroups ${pods.join(' ')} in ${dir}`);
      }
    }
    assert.deepEqual(leftovers, [], 'the agents left things behind');
  });

  it('leaves no pod cgroup in the cgroup v2 hierarchy of a hybrid host (/sys/fs/cgroup/unified)', {
    skip: !existsSync('/sys/fs/cgroup/unified/cgroup.procs') && 'no hybrid cgroup v2 hierarchy here',
  }, () => {
    const left = nodes.flatMap((n) => {
      const dir = `/sys/fs/cgroup/unified/skiff/${n}`;
      return existsSync(dir) ? readdirSync(dir).filter((d) => d.startsWith('pod')).map((d) => `${dir}/${d}`) : [];
    });
    assert.deepEqual(left, []);
  });
});
