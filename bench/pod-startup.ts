/**
 * Pod startup benchmark on the real runtime: `skiff server --disable-agent` plus a `skiff agent` in a process of its
 * own (its own containerd, a unique CNI bridge and cluster CIDR), measured in one run:
 *
 * 1. pod startup latency as Kubernetes' SLO defines it: from pod creation to Ready observed through a watch on pods.
 *    The creation moment is when the create call returns (the pod is stored then; metadata.creationTimestamp has
 *    only second precision). 30 busybox pods one after another (each created once the previous one is Ready), then
 *    30 created at once.
 * 2. the floor of that latency: the same sandbox + container start sent directly through CRI (RunPodSandbox,
 *    CreateContainer, StartContainer, until ContainerStatus says RUNNING: asked at once, then at growing intervals,
 *    as a client of the runtime waits, not in a tight loop that loads it) to the agent's own containerd, with a
 *    sandbox like the agent's (the node's CNI network, a log folder, a cgroup parent, DNS), 30 one after another,
 *    each right after one of the serial pods of 1. ratio = serial p50 / direct p50. Each phase of both (from the
 *    runtime's own timestamps) is printed too: where the time goes. Then 30 such direct starts at once, the floor
 *    of the 30 pods at once: parallel_ratio = parallel p99 / direct-at-once p99.
 * 3. the agent's own cost with 50 running pods at rest (a Deployment of 50): RSS (VmRSS) and CPU (utime + stime over
 *    30 s, percent of one core) of the agent process, read from /proc; its containerd is shown beside it.
 *
 * Everything started is stopped and removed at the end, also when a step fails.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '../lib/kube/client.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { Deployments, Nodes, Pods } from '../lib/kube/resources.ts';
import { CriClient } from '../node-agent/cri/client.ts';
import type { ContainerConfig, PodSandboxConfig } from '../node-agent/cri/types.ts';
import { MANAGED_BY_NODE } from '../node-agent/pods/labels.ts';
import { removePodCgroup } from '../node-agent/pods/cgroups.ts';
import { masqChain, removeBridge, removeMasquerade } from '../node-agent/network/cni.ts';
import { eventually } from '../test/harness/eventually.ts';
import { releaseFolder, ROOT, startSkiff, type SkiffProcess } from '../test/harness/skiff.ts';
import { freeRange } from '../test/harness/netns.ts';
import { cpuSeconds, percentile, printTable } from './client.ts';

const SERIAL = Number(process.env.SKIFF_BENCH_SERIAL_PODS ?? 30);
const PARALLEL = Number(process.env.SKIFF_BENCH_PARALLEL_PODS ?? 30);
const DIRECT = Number(process.env.SKIFF_BENCH_DIRECT_PODS ?? 30);
const AT_REST = Number(process.env.SKIFF_BENCH_REST_PODS ?? 50);
const SETTLE_MS = Number(process.env.SKIFF_BENCH_SETTLE_MS ?? 10_000);
const WINDOW_MS = Number(process.env.SKIFF_BENCH_WINDOW_MS ?? 30_000);
const NS = 'default';

const TARGET = { ratio: 1.5, rssMb: 100, cpuPct: 2, parallelP99Ms: 2000 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function busyboxImage(): string {
  const banner = execText('/bin/busybox', []);
  return `skiff.local/busybox:${/v(\d+\.\d+\.\d+)/.exec(banner)?.[1] ?? 'latest'}`;
}

function execText(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

/** why the benchmark cannot run here, or '' */
function missing(): string {
  if (process.getuid?.() !== 0) return 'the node agent runs containers: run the benchmark as root';
  if (!existsSync('/usr/bin/containerd'))
    return 'containerd is not installed (apt-get install -y containerd runc containernetworking-plugins)';
  if (!existsSync('/bin/busybox')) return 'busybox is not installed (apt-get install -y busybox-static)';
  return '';
}

// ---- the agent as a process of its own

interface AgentProcess {
  child: ChildProcess;
  pid: number;
  output(): string;
  /** SIGINT (the agent stops its pods: --stop-pods-on-exit), SIGKILL after `graceMs`; the exit code */
  stop(graceMs?: number): Promise<number | null>;
}

async function startAgent(args: string[]): Promise<AgentProcess> {
  // as users start it: the skiff command (bin/skiff, which gives node the agent's own flags). SKIFF_BENCH_AGENT_NODE_ARGS
  // adds node flags, e.g. --cpu-prof to profile the agent
  const child = spawn(path.join(ROOT, 'bin/skiff'), ['agent', ...args], {
    cwd: ROOT,
    env: { ...process.env, SKIFF_DATA_DIR: '', SKIFF_NODE_ARGS: process.env.SKIFF_BENCH_AGENT_NODE_ARGS ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const killOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  const agent: AgentProcess = {
    child,
    pid: child.pid!,
    output: () => out,
    async stop(graceMs = 60_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(t);
      }
      process.off('exit', killOnExit);
      return child.exitCode;
    },
  };
  // the first start builds the pause and busybox images (gcc, tar): allow for it
  const deadline = Date.now() + 180_000;
  while (!out.includes('skiff agent: ready')) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`skiff agent exited (code ${child.exitCode ?? child.signalCode}) before it was ready:\n${out}`);
    if (Date.now() > deadline) {
      await agent.stop(5000);
      throw new Error(`skiff agent was not ready in 180 s:\n${out}`);
    }
    await sleep(100);
  }
  return agent;
}

/** lines of a log that occur at least `min` times once numbers and ids are masked: an agent retrying something */
function repeatedLines(log: string, min: number): [number, string][] {
  const counts = new Map<string, { n: number; first: string }>();
  for (const line of log.split('\n')) {
    if (!line.trim()) continue;
    const key = line.replace(/[0-9a-f]{12,}/g, '#').replace(/\d+/g, '0');
    const c = counts.get(key);
    if (c) c.n++;
    else counts.set(key, { n: 1, first: line.slice(0, 300) });
  }
  return [...counts.values()]
    .filter((c) => c.n >= min)
    .sort((x, y) => y.n - x.n)
    .slice(0, 8)
    .map((c) => [c.n, c.first]);
}

/**
 * Removes the iptables chains of the agent's service proxy (prefix as the agent derives it from its bridge) and the
 * jumps to them, when the agent could not: its own cleanup gives up where the nat table is large.
 */
function removeProxyChains(bridge: string): void {
  const prefix = `SK${bridge.slice(-6).toUpperCase()}-`;
  for (const table of ['nat', 'filter']) {
    const save = spawnSync('iptables-save', ['-t', table], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
    const lines = (save.stdout ?? '').split('\n');
    const chains = lines.filter((l) => l.startsWith(`:${prefix}`)).map((l) => l.slice(1).split(' ')[0]);
    if (!chains.length) continue;
    const mine = new Set(chains);
    const jumps = lines.filter((l) => {
      const m = /^-A (\S+) .*-j (\S+)/.exec(l);
      return m && !mine.has(m[1]) && mine.has(m[2]);
    });
    const input = [
      `*${table}`,
      ...jumps.map((l) => `-D${l.slice(2)}`),
      ...chains.map((c) => `:${c} - [0:0]`),
      ...chains.map((c) => `-X ${c}`),
      'COMMIT',
      '',
    ].join('\n');
    const r = spawnSync('iptables-restore', ['-w', '5', '--noflush'], { input, encoding: 'utf8' });
    if (r.status !== 0) console.log(`(cleanup: could not remove the ${table} chains ${prefix}*: ${r.stderr.trim()})`);
    else console.log(`(cleanup: removed ${chains.length} ${table} chain(s) ${prefix}* the agent left behind)`);
  }
}

// ---- /proc readings

function vmRssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`/proc/${pid}/status has no VmRSS: has the process exited?`);
  return Number(m[1]) / 1024;
}

interface Usage {
  cpuPct: number;
  rssMb: number;
  rssMaxMb: number;
}

/** CPU (% of one core) over the window and RSS (at its end, and the highest sampled each second) of each pid */
async function usageOver(pids: number[], windowMs: number): Promise<Usage[]> {
  const t0 = performance.now();
  const cpu0 = pids.map(cpuSeconds);
  const maxRss = pids.map(vmRssMb);
  while (performance.now() - t0 < windowMs) {
    await sleep(Math.min(1000, windowMs - (performance.now() - t0)));
    pids.forEach((p, i) => (maxRss[i] = Math.max(maxRss[i], vmRssMb(p))));
  }
  const seconds = (performance.now() - t0) / 1000;
  return pids.map((p, i) => ({
    cpuPct: ((cpuSeconds(p) - cpu0[i]) / seconds) * 100,
    rssMb: vmRssMb(p),
    rssMaxMb: maxRss[i],
  }));
}

// ---- readiness through a watch

function isReady(p: KubeObject): boolean {
  return (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

function isScheduled(p: KubeObject): boolean {
  return !!p.spec?.nodeName;
}

/**
 * Watches the pods of one label and notes, for each pod name, when it was first seen bound to a node and first seen
 * Ready (performance.now()). Resumes from the last resourceVersion when the stream ends.
 */
class ReadyWatch {
  readonly scheduledAt = new Map<string, number>();
  readonly readyAt = new Map<string, number>();
  private readonly waiters = new Map<string, (t: number) => void>();
  private handle?: { stop(): void };
  private rv = '';
  private stopped = false;
  private failure?: Error;

  constructor(
    private readonly client: Client,
    private readonly selector: string,
  ) {}

  async start(): Promise<void> {
    const list = await this.client.list<KubeObject>(Pods, { namespace: NS, labelSelector: this.selector });
    this.rv = list.metadata?.resourceVersion ?? '';
    this.open();
  }

  private open(): void {
    this.handle = this.client.watch<KubeObject>(
      Pods,
      { namespace: NS, labelSelector: this.selector, resourceVersion: this.rv },
      (ev) => {
        const now = performance.now();
        if (ev.type === 'ERROR') {
          this.failure = new Error(`watch of pods failed: ${ev.object?.message ?? JSON.stringify(ev.object)}`);
          return;
        }
        const p = ev.object;
        if (p.metadata?.resourceVersion) this.rv = p.metadata.resourceVersion;
        if (ev.type === 'DELETED' || ev.type === 'BOOKMARK') return;
        const name = p.metadata.name!;
        if (isScheduled(p) && !this.scheduledAt.has(name)) this.scheduledAt.set(name, now);
        if (isReady(p) && !this.readyAt.has(name)) {
          this.readyAt.set(name, now);
          this.waiters.get(name)?.(now);
          this.waiters.delete(name);
        }
      },
      (err) => {
        if (this.stopped) return;
        if (this.failure) return;
        if (err) console.log(`(pod watch ended: ${err.message}; resuming)`);
        setTimeout(() => !this.stopped && this.open(), 100);
      },
    );
  }

  /** resolves with the moment the pod was first seen Ready */
  async ready(name: string, timeoutMs: number): Promise<number> {
    const seen = this.readyAt.get(name);
    if (seen !== undefined) return seen;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(name);
        reject(this.failure ?? new Error(`pod ${NS}/${name} was not Ready within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiters.set(name, (t) => {
        clearTimeout(timer);
        resolve(t);
      });
    });
  }

  stop(): void {
    this.stopped = true;
    this.handle?.stop();
  }
}

// ---- the workloads

function podTemplateSpec(image: string): any {
  return {
    terminationGracePeriodSeconds: 0,
    containers: [{ name: 'app', image, imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }],
  };
}

function pod(name: string, labels: Record<string, string>, image: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels }, spec: podTemplateSpec(image) };
}

function deployment(name: string, replicas: number, labels: Record<string, string>, image: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: podTemplateSpec(image) },
    },
  };
}

interface Sample {
  name: string;
  /** create call returned -> Ready observed (ms) */
  total: number;
  /** create call returned -> bound to the node observed (ms) */
  scheduled: number;
  /** wall clock (ms since the epoch, sub-ms) of the create call's return and of Ready seen */
  createdWall: number;
  readyWall: number;
}

/** performance.now() as wall-clock ms, comparable with the runtime's nanosecond timestamps */
const wall = (t: number) => performance.timeOrigin + t;
const nsToMs = (ns: string | number) => Number(BigInt(ns || 0) / 1000n) / 1000;

/**
 * Where the time of one start goes, from the runtime's own timestamps: start -> sandbox record created (for pods:
 * API, scheduler, the agent's watch and its pod cgroup), -> container record created (RunPodSandbox with CNI, the
 * agent's work between the calls, CreateContainer up to its record), -> container started (the rest of
 * CreateContainer and StartContainer), -> Ready seen (the agent noticing, its status patch, the watch).
 */
interface Phases {
  toSandbox: number;
  toContainer: number;
  toStarted: number;
  toReady: number;
}

/** the phases of the agent's pods of these names, read from the runtime while they still run */
async function podPhases(cri: CriClient, node: string, samples: Sample[]): Promise<Phases[]> {
  const labels = { [MANAGED_BY_NODE]: node };
  const [sandboxes, containers] = await Promise.all([cri.listPodSandbox({ labels }), cri.listContainers({ labels })]);
  const sandboxOf = new Map(sandboxes.map((sb) => [sb.metadata.name, sb]));
  const containerOf = new Map(containers.map((c) => [c.pod_sandbox_id, c]));
  const out: Phases[] = [];
  for (const s of samples) {
    const sb = sandboxOf.get(s.name);
    const c = sb && containerOf.get(sb.id);
    if (!sb || !c) continue;
    const { status } = await cri.containerStatus(c.id);
    const sbAt = nsToMs(sb.created_at);
    const cAt = nsToMs(status.created_at);
    const startedAt = nsToMs(status.started_at);
    out.push({
      toSandbox: sbAt - s.createdWall,
      toContainer: cAt - sbAt,
      toStarted: startedAt - cAt,
      toReady: s.readyWall - startedAt,
    });
  }
  return out;
}

function phaseP50(xs: Phases[]): Record<keyof Phases, number> {
  const one = (k: keyof Phases) =>
    Math.round(
      percentile(
        xs.map((x) => x[k]).sort((a, b) => a - b),
        50,
      ),
    );
  return {
    toSandbox: one('toSandbox'),
    toContainer: one('toContainer'),
    toStarted: one('toStarted'),
    toReady: one('toReady'),
  };
}

async function createAndTime(client: Client, watch: ReadyWatch, obj: KubeObject): Promise<Sample> {
  await client.create(Pods, obj);
  const created = performance.now();
  const ready = await watch.ready(obj.metadata.name!, 120_000);
  const scheduled = watch.scheduledAt.get(obj.metadata.name!) ?? ready;
  return {
    name: obj.metadata.name!,
    total: Math.max(0, ready - created),
    scheduled: Math.max(0, scheduled - created),
    createdWall: wall(created),
    readyWall: wall(ready),
  };
}

/** Deletes every pod of the label at once and waits until the API and the agent's runtime hold none of them. */
async function deletePods(client: Client, cri: CriClient, selector: string, node: string): Promise<void> {
  const pods = (await client.list<KubeObject>(Pods, { namespace: NS, labelSelector: selector })).items;
  await Promise.all(
    pods.map((p) => client.delete(Pods, NS, p.metadata.name!, { gracePeriodSeconds: 0 }).catch(() => undefined)),
  );
  await eventually(
    'the benchmark pods are gone from the API',
    async () => (await client.list<KubeObject>(Pods, { namespace: NS, labelSelector: selector })).items.length === 0,
    120_000,
    200,
  );
  await eventually(
    'the agent removed the sandboxes of the deleted pods',
    async () => (await cri.listPodSandbox({ labels: { [MANAGED_BY_NODE]: node } })).length === 0,
    120_000,
    200,
  );
}

// ---- direct CRI

interface DirectCri {
  cri: CriClient;
  image: string;
  dir: string;
  cgroupRoot: string;
  clusterDNS: string;
  label: string;
  /** created sandboxes and containers, for the cleanup */
  sandboxes: string[];
  containers: string[];
}

function directSandboxConfig(d: DirectCri, i: number): PodSandboxConfig {
  const uid = randomUUID();
  const name = `direct-${i}`;
  const logDir = path.join(d.dir, 'logs', `bench_${name}_${uid}`);
  mkdirSync(logDir, { recursive: true });
  return {
    metadata: { name, uid, namespace: 'bench', attempt: 0 },
    hostname: name,
    log_directory: logDir,
    dns_config: {
      servers: [d.clusterDNS],
      searches: ['bench.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
      options: ['ndots:5'],
    },
    port_mappings: [],
    // not the agent's labels: its relist must not take these sandboxes for orphans of its own
    labels: { 'bench.skiff.dev/direct': d.label, 'bench.skiff.dev/name': name, 'bench.skiff.dev/uid': uid },
    annotations: {},
    linux: {
      cgroup_parent: `${d.cgroupRoot}/pod${uid}`,
      security_context: {
        namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' },
        supplemental_groups: [],
        privileged: false,
      },
      sysctls: {},
    },
  };
}

function directContainerConfig(d: DirectCri, sb: PodSandboxConfig): ContainerConfig {
  // the mounts the agent gives every container: /etc/hosts and the termination log
  const podDir = path.join(d.dir, sb.metadata.uid);
  mkdirSync(podDir, { recursive: true });
  const hosts = path.join(podDir, 'etc-hosts');
  writeFileSync(hosts, `127.0.0.1\tlocalhost\n`);
  const term = path.join(podDir, 'termination-log');
  closeSync(openSync(term, 'w'));
  return {
    metadata: { name: 'app', attempt: 0 },
    image: { image: d.image, user_specified_image: d.image },
    command: ['sleep', '3600'],
    args: [],
    working_dir: '',
    envs: [{ key: 'KUBERNETES_SERVICE_HOST', value: '10.0.0.1' }],
    mounts: [
      { container_path: '/etc/hosts', host_path: hosts },
      { container_path: '/dev/termination-log', host_path: term },
    ],
    labels: { 'bench.skiff.dev/direct': d.label },
    annotations: {},
    log_path: 'app/0.log',
    linux: {
      resources: { cpu_period: 0, cpu_quota: 0, cpu_shares: 2, memory_limit_in_bytes: 0, oom_score_adj: 1000 },
      security_context: {
        privileged: false,
        capabilities: { add_capabilities: [], drop_capabilities: [] },
        namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' },
        readonly_rootfs: false,
        supplemental_groups: [],
        no_new_privs: false,
      },
    },
  };
}

/**
 * How long the direct starts wait between two ContainerStatus calls: 2 ms, then half as long again each time, up to
 * 25 ms. StartContainer normally leaves the container running, so the first call, made at once, mostly finds it so;
 * when it does not, a few calls follow instead of one every 2 ms, which (30 starts at once polling) would load the
 * containerd whose cost the floor measures and so inflate it. A late sighting costs at most one interval, small
 * beside the start itself.
 */
const STATUS_POLL_FIRST_MS = 2;
const STATUS_POLL_MAX_MS = 25;

async function directStart(d: DirectCri, i: number): Promise<{ total: number; phases: Phases }> {
  const sbConfig = directSandboxConfig(d, i);
  const cConfig = directContainerConfig(d, sbConfig);
  const t0 = performance.now();
  const sb = await d.cri.runPodSandbox(sbConfig);
  d.sandboxes.push(sb);
  const c = await d.cri.createContainer(sb, cConfig, sbConfig);
  d.containers.push(c);
  await d.cri.startContainer(c);
  for (let wait = STATUS_POLL_FIRST_MS; ; wait = Math.min(wait * 1.5, STATUS_POLL_MAX_MS)) {
    const { status } = await d.cri.containerStatus(c);
    if (status.state === 'CONTAINER_RUNNING') {
      const end = performance.now();
      const sbAt = nsToMs((await d.cri.podSandboxStatus(sb)).created_at);
      const cAt = nsToMs(status.created_at);
      const startedAt = nsToMs(status.started_at);
      return {
        total: end - t0,
        phases: {
          toSandbox: sbAt - wall(t0),
          toContainer: cAt - sbAt,
          toStarted: startedAt - cAt,
          toReady: wall(end) - startedAt,
        },
      };
    }
    if (status.state !== 'CONTAINER_CREATED')
      throw new Error(
        `direct CRI container ${c.slice(0, 12)} is ${status.state} (${status.reason} ${status.message}), not running`,
      );
    if (performance.now() - t0 > 60_000)
      throw new Error(`direct CRI container ${c.slice(0, 12)} did not run within 60 s`);
    await sleep(wait);
  }
}

async function directCleanup(d: DirectCri): Promise<void> {
  await Promise.all(d.containers.map((c) => d.cri.stopContainer(c, 0).catch(() => undefined)));
  for (const c of d.containers) await d.cri.removeContainer(c).catch(() => undefined);
  for (const s of d.sandboxes) {
    await d.cri.stopPodSandbox(s).catch(() => undefined);
    await d.cri.removePodSandbox(s).catch(() => undefined);
  }
  d.containers.length = 0;
  d.sandboxes.length = 0;
  removePodCgroup(d.cgroupRoot);
}

// ---- the run

const fmt = (ms: number) => ms.toFixed(0);

export async function run(): Promise<Record<string, unknown>> {
  const why = missing();
  if (why) throw new Error(`pod-startup benchmark: ${why}`);
  const suffix = Math.random().toString(36).slice(2, 7).padEnd(5, '0');
  const node = `bench-ps-${suffix}`;
  const bridge = `skb${suffix}`;
  const clusterCIDR = freeRange(() => `10.${200 + Math.floor(Math.random() * 50)}.0.0/16`);
  const serviceCIDR = freeRange(() => `10.${150 + Math.floor(Math.random() * 40)}.0.0/16`);
  const clusterDNS = `169.254.22.${1 + Math.floor(Math.random() * 250)}`;
  const label = `pod-startup-${suffix}`;
  const image = busyboxImage();

  const cleanups: [string, () => Promise<void> | void][] = [];
  const later = (what: string, fn: () => Promise<void> | void) => cleanups.push([what, fn]);
  let server: SkiffProcess | undefined;
  let agent: AgentProcess | undefined;
  try {
    server = await startSkiff({ args: ['--cluster-cidr', clusterCIDR, '--service-cidr', serviceCIDR] });
    const s = server;
    later('the server', async () => {
      await s.stop();
      s.cleanup();
    });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-agent-'));
    later('the agent data folder', () => releaseFolder(dir));
    later('the bridge, iptables chains and cgroups of the node (when the agent could not remove them)', async () => {
      removeProxyChains(bridge);
      await removeBridge(bridge);
      await removeMasquerade(masqChain(bridge));
      removePodCgroup(`/skiff/${node}`);
      spawnSync('ip', ['addr', 'del', `${clusterDNS}/32`, 'dev', 'lo']);
    });
    console.log(`starting the agent (node ${node}, bridge ${bridge}, cluster CIDR ${clusterCIDR})...`);
    agent = await startAgent([
      '--kubeconfig',
      s.kubeconfig,
      '--data-dir',
      dir,
      '--node-name',
      node,
      '--bridge',
      bridge,
      '--cluster-cidr',
      clusterCIDR,
      '--cluster-dns',
      clusterDNS,
      '--stop-pods-on-exit',
      // SKIFF_BENCH_AGENT_ARGS: more agent flags, e.g. --proxy-mode none to see the agent without its service proxy
      ...(process.env.SKIFF_BENCH_AGENT_ARGS ?? '').split(' ').filter(Boolean),
    ]);
    const a = agent;
    later('the agent', async () => {
      const code = await a.stop();
      if (process.env.SKIFF_BENCH_AGENT_LOG) writeFileSync(process.env.SKIFF_BENCH_AGENT_LOG, a.output());
      if (code !== 0)
        console.log(
          `(the agent exited with code ${code}; its output:\n${a.output().split('\n').slice(-30).join('\n')})`,
        );
      const repeated = repeatedLines(a.output(), 5);
      if (repeated.length)
        console.log(
          `messages the agent repeated (count, first line):\n${repeated.map(([n, l]) => `  ${n}x ${l}`).join('\n')}`,
        );
    });

    const client = await Client.fromKubeconfig(s.kubeconfig, { maxSockets: 64 });
    later('the API client', () => client.close());
    const cri = new CriClient(path.join(dir, 'containerd', 'containerd.sock'));
    later('the CRI client', () => cri.close());
    // cleanups run in reverse: the pods go while both clients are open, and before the agent stops
    later('the benchmark pods', async () => {
      await client.delete(Deployments, NS, 'pod-startup', { propagationPolicy: 'Background' }).catch(() => undefined);
      await deletePods(client, cri, `bench=${label}`, node).catch((e) =>
        console.log(`(cleanup: ${(e as Error).message})`),
      );
    });

    await eventually(
      `node ${node} is Ready`,
      async () => {
        const n = await client.get<KubeObject>(Nodes, undefined, node);
        return (n.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
      },
      60_000,
      200,
    );
    if (!(await cri.imageStatus(image)))
      throw new Error(`the agent did not import ${image}; its output:\n${a.output()}`);

    const watch = new ReadyWatch(client, `bench=${label}`);
    await watch.start();
    later('the pod watch', () => watch.stop());

    // 1a + 2. pods one after another, each followed by the same start sent straight to CRI on the same containerd:
    // alternating, both meet the same machine (whatever else runs on it) and the same runtime state
    console.log(
      `${SERIAL} pods one after another, alternating with ${DIRECT} sandbox + container starts directly through CRI...`,
    );
    const serial: Sample[] = [];
    const direct: DirectCri = {
      cri,
      image,
      dir: path.join(dir, 'bench-direct'),
      cgroupRoot: `/skiff-bench-${suffix}`,
      clusterDNS,
      label,
      sandboxes: [],
      containers: [],
    };
    const directMs: number[] = [];
    const directPhases: Phases[] = [];
    let serialPhases: Phases[];
    try {
      for (let i = 0; i < Math.max(SERIAL, DIRECT); i++) {
        if (i < SERIAL)
          serial.push(await createAndTime(client, watch, pod(`serial-${i}`, { bench: label, part: 'serial' }, image)));
        if (i < DIRECT) {
          const r = await directStart(direct, i);
          directMs.push(r.total);
          directPhases.push(r.phases);
        }
      }
      serialPhases = await podPhases(cri, node, serial);
    } finally {
      await directCleanup(direct);
    }
    // 1b. all at once
    console.log(`${PARALLEL} pods at once...`);
    const parallel = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        createAndTime(client, watch, pod(`parallel-${i}`, { bench: label, part: 'parallel' }, image)),
      ),
    );
    const parallelPhases = await podPhases(cri, node, parallel);
    console.log('deleting them...');
    await deletePods(client, cri, `bench=${label}`, node);
    // 2b. the same number of sandbox + container starts at once straight through CRI: what the runtime itself takes
    console.log(`${PARALLEL} sandbox + container starts at once directly through CRI...`);
    let directParallelMs: number[];
    let directParallelPhases: Phases[];
    try {
      const runs = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => directStart(direct, 1000 + i)));
      directParallelMs = runs.map((r) => r.total);
      directParallelPhases = runs.map((r) => r.phases);
    } finally {
      await directCleanup(direct);
    }

    // 3. the agent at rest with many pods
    console.log(`a Deployment of ${AT_REST} pods...`);
    const t0 = performance.now();
    await client.create(Deployments, deployment('pod-startup', AT_REST, { bench: label, part: 'rest' }, image));
    await eventually(
      `${AT_REST} pods Ready`,
      async () => {
        const d = await client.get<KubeObject>(Deployments, NS, 'pod-startup');
        return d.status?.readyReplicas === AT_REST;
      },
      300_000,
      250,
    );
    const allReadyS = (performance.now() - t0) / 1000;
    const running = await cri.listContainers({ labels: { [MANAGED_BY_NODE]: node }, state: 'CONTAINER_RUNNING' });
    if (running.length !== AT_REST)
      throw new Error(`the runtime runs ${running.length} containers of the node, ${AT_REST} expected`);
    console.log(
      `all ${AT_REST} Ready in ${allReadyS.toFixed(1)} s; settling ${SETTLE_MS / 1000} s, then measuring ${WINDOW_MS / 1000} s...`,
    );
    await sleep(SETTLE_MS);
    const containerdPid = Number(readFileSync(path.join(dir, 'containerd', 'containerd.pid'), 'utf8'));
    const [agentUse, containerdUse] = await usageOver([a.pid, containerdPid], WINDOW_MS);

    // ---- figures
    const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
    const serialMs = sorted(serial.map((x) => x.total));
    const parallelMs = sorted(parallel.map((x) => x.total));
    const directSorted = sorted(directMs);
    const p = (xs: number[], q: number) => percentile(xs, q);
    const figures = {
      serial_p50_ms: Math.round(p(serialMs, 50)),
      serial_p99_ms: Math.round(p(serialMs, 99)),
      parallel_p50_ms: Math.round(p(parallelMs, 50)),
      parallel_p99_ms: Math.round(p(parallelMs, 99)),
      direct_cri_p50_ms: Math.round(p(directSorted, 50)),
      ratio: Number((p(serialMs, 50) / p(directSorted, 50)).toFixed(2)),
      direct_cri_parallel_p50_ms: Math.round(p(sorted(directParallelMs), 50)),
      direct_cri_parallel_p99_ms: Math.round(p(sorted(directParallelMs), 99)),
      parallel_ratio: Number((p(parallelMs, 99) / p(sorted(directParallelMs), 99)).toFixed(2)),
      agent_rss_mb: Number(agentUse.rssMb.toFixed(1)),
      agent_cpu_pct: Number(agentUse.cpuPct.toFixed(2)),
      agent_rss_max_mb: Number(agentUse.rssMaxMb.toFixed(1)),
      containerd_rss_mb: Number(containerdUse.rssMb.toFixed(1)),
      containerd_cpu_pct: Number(containerdUse.cpuPct.toFixed(2)),
      serial_schedule_p50_ms: Math.round(p(sorted(serial.map((x) => x.scheduled)), 50)),
      parallel_schedule_p50_ms: Math.round(p(sorted(parallel.map((x) => x.scheduled)), 50)),
      rest_pods_ready_s: Number(allReadyS.toFixed(1)),
      phases_p50_ms: {
        serial: phaseP50(serialPhases),
        parallel: phaseP50(parallelPhases),
        direct_cri: phaseP50(directPhases),
        direct_cri_parallel: phaseP50(directParallelPhases),
      },
      pods: { serial: SERIAL, parallel: PARALLEL, direct: DIRECT, at_rest: AT_REST },
    };
    const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');
    printTable(
      `pod-startup: busybox "sleep 3600" pods on one node (skiff agent in its own process, containerd ${execText('containerd', ['--version']).split(' ')[2] ?? ''}, ${os.cpus().length} cores); latency = create call returned -> Ready seen by a watch`,
      [
        ['figure', 'value', 'target', 'verdict'],
        [`serial p50 (${SERIAL} pods, one after another)`, `${fmt(p(serialMs, 50))} ms`, '', ''],
        ['serial p99', `${fmt(p(serialMs, 99))} ms`, '', ''],
        [`parallel p50 (${PARALLEL} pods at once)`, `${fmt(p(parallelMs, 50))} ms`, '', ''],
        [
          'parallel p99',
          `${fmt(p(parallelMs, 99))} ms`,
          `<= ${TARGET.parallelP99Ms} ms`,
          verdict(p(parallelMs, 99) <= TARGET.parallelP99Ms),
        ],
        [`direct CRI p50 (sandbox + container to RUNNING, ${DIRECT} serial)`, `${fmt(p(directSorted, 50))} ms`, '', ''],
        [
          'ratio serial p50 / direct CRI p50',
          figures.ratio.toFixed(2),
          `<= ${TARGET.ratio}`,
          verdict(figures.ratio <= TARGET.ratio),
        ],
        [
          `direct CRI at once p50 / p99 (${PARALLEL} sandbox + container starts)`,
          `${figures.direct_cri_parallel_p50_ms} / ${figures.direct_cri_parallel_p99_ms} ms`,
          '',
          '',
        ],
        [
          'ratio parallel p99 / direct CRI at once p99',
          figures.parallel_ratio.toFixed(2),
          `<= ${TARGET.ratio}`,
          verdict(figures.parallel_ratio <= TARGET.ratio),
        ],
        [
          `agent RSS with ${AT_REST} pods at rest (max over window)`,
          `${agentUse.rssMb.toFixed(1)} MB (${agentUse.rssMaxMb.toFixed(1)})`,
          `<= ${TARGET.rssMb} MB`,
          verdict(agentUse.rssMaxMb <= TARGET.rssMb),
        ],
        [
          `agent CPU with ${AT_REST} pods at rest (${WINDOW_MS / 1000} s)`,
          `${agentUse.cpuPct.toFixed(2)} % of a core`,
          `<= ${TARGET.cpuPct} %`,
          verdict(agentUse.cpuPct <= TARGET.cpuPct),
        ],
        [
          '(containerd beside it: RSS / CPU)',
          `${containerdUse.rssMb.toFixed(1)} MB / ${containerdUse.cpuPct.toFixed(2)} %`,
          '',
          '',
        ],
        [
          '(create -> bound to the node seen, p50 serial / parallel)',
          `${figures.serial_schedule_p50_ms} / ${figures.parallel_schedule_p50_ms} ms`,
          '',
          '',
        ],
      ],
    );
    const row = (what: string, x: Record<keyof Phases, number>) => [
      what,
      x.toSandbox,
      x.toContainer,
      x.toStarted,
      x.toReady,
    ];
    printTable("where the time goes: p50 of each phase (ms), from the runtime's own timestamps", [
      [
        'start',
        'start -> sandbox created',
        '-> container created',
        '-> container started',
        '-> Ready seen (direct: RUNNING seen)',
      ],
      row('serial pods (create returned)', figures.phases_p50_ms.serial),
      row('parallel pods (create returned)', figures.phases_p50_ms.parallel),
      row('direct CRI (RunPodSandbox sent)', figures.phases_p50_ms.direct_cri),
      row('direct CRI at once (RunPodSandbox sent)', figures.phases_p50_ms.direct_cri_parallel),
    ]);
    return figures;
  } finally {
    for (const [what, fn] of cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        console.log(`(cleanup of ${what} failed: ${(e as Error).message})`);
      }
    }
  }
}
