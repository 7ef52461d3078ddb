/**
 * Scheduler throughput in the shape of kube-scheduler's SchedulingBasic: 5,000 nodes, 1,000 pods placed first, then
 * 10,000 pods measured from creation to binding, on this machine, twice: with the scheduler as its own process
 * (`skiff scheduler`, as kube-scheduler runs) and inside the all-in-one `skiff server`. Controllers are off, as
 * upstream runs only the scheduler; the nodes are plain Node objects. The reference is the upstream CI threshold of
 * 680 pods/s (performance-anchors); the all-in-one server's memory with 5,000 nodes and 11,000 pods is reported
 * against its 500 MB target.
 */
import { Client } from '../lib/kube/client.ts';
import { Nodes, Pods } from '../lib/kube/resources.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { startSkiff } from '../test/harness/skiff.ts';
import { startRole } from '../test/harness/processes.ts';
import { percentile, pool, printTable, rssMb } from './client.ts';

const NODES = Number(process.env.SKIFF_BENCH_NODES ?? 5000);
const INITIAL_PODS = Number(process.env.SKIFF_BENCH_INITIAL_PODS ?? 1000);
const MEASURED_PODS = Number(process.env.SKIFF_BENCH_PODS ?? 10_000);
const UPSTREAM_THRESHOLD = 680;

/** upstream's node-default.yaml: 4 cpu, 32Gi, 110 pods */
function node(i: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: `bench-node-${i}`,
      labels: { 'kubernetes.io/hostname': `bench-node-${i}`, 'topology.kubernetes.io/zone': `zone-${i % 3}` },
    },
    spec: {},
    status: {
      capacity: { cpu: '4', memory: '32Gi', pods: '110' },
      allocatable: { cpu: '4', memory: '32Gi', pods: '110' },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          message: 'ready',
          lastHeartbeatTime: new Date().toISOString(),
          lastTransitionTime: new Date().toISOString(),
        },
      ],
      phase: 'Running',
    },
  };
}

/** upstream's pod-default.yaml: one container requesting 100m cpu and 500Mi */
function pod(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'sched-bench' } },
    spec: {
      containers: [
        {
          name: 'pause',
          image: 'registry.k8s.io/pause:3.10',
          resources: { requests: { cpu: '100m', memory: '500Mi' }, limits: { cpu: '100m', memory: '500Mi' } },
        },
      ],
    },
  };
}

interface Measured {
  podsPerS: number;
  p50: number;
  p99: number;
  createdPerS: number;
  apiRss: number;
  schedRss: number;
  heapUsed: number;
  rssSettled: number;
  /** highest RSS (all processes) sampled every 250 ms from the first measured pod to the last binding */
  peakRss: number;
}

/**
 * One SchedulingBasic run. `separate`: the scheduler in its own process (`skiff scheduler`, as kube-scheduler runs),
 * so the API server and the scheduler each have a core; otherwise the all-in-one `skiff server` with the scheduler
 * in the API server's process.
 */
async function measure(separate: boolean): Promise<Measured> {
  const s = await startSkiff({ args: ['--disable-controller-manager', ...(separate ? ['--disable-scheduler'] : [])] });
  const sched = separate ? startRole(['scheduler', '--kubeconfig', s.kubeconfig]) : undefined;
  await sched?.waitFor('became leader');
  const client = await Client.fromKubeconfig(s.kubeconfig, { maxSockets: 64 });
  try {
    let t = performance.now();
    await pool(NODES, 32, async (i) => {
      const created = await client.create(Nodes, node(i));
      if (!created.status?.allocatable)
        await client.update(Nodes, { ...created, status: node(i).status }, { subresource: 'status' });
    });
    console.log(`${NODES} nodes registered in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // one watch sees every binding
    const created = new Map<string, number>();
    const bound = new Map<string, number>();
    let waiter: { n: number; resolve: () => void } | undefined;
    const handle = client.watch(
      Pods,
      { namespace: 'default' },
      (ev) => {
        const p = ev.object;
        if ((ev.type === 'ADDED' || ev.type === 'MODIFIED') && p.spec?.nodeName && !bound.has(p.metadata.name!)) {
          bound.set(p.metadata.name!, performance.now());
          if (waiter && bound.size >= waiter.n) waiter.resolve();
        }
      },
      (err) => {
        if (err) console.error(`bench watch ended: ${err.message}`);
      },
    );
    const allBound = (n: number, what: string) =>
      new Promise<void>((resolve, reject) => {
        if (bound.size >= n) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`${what}: only ${bound.size} of ${n} pods bound after 10 minutes`)),
          600_000,
        );
        waiter = { n, resolve: () => (clearTimeout(timer), resolve()) };
      });

    t = performance.now();
    await pool(INITIAL_PODS, 32, async (i) => {
      await client.create(Pods, pod(`initial-${i}`));
    });
    await allBound(INITIAL_PODS, 'initial pods');
    console.log(`${INITIAL_PODS} initial pods placed in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // the servers' RSS, sampled through the burst: its peak is the memory figure
    let peakRss = 0;
    const sampleRss = () => (peakRss = Math.max(peakRss, rssMb(s.child.pid!) + (sched ? rssMb(sched.child.pid!) : 0)));
    const sampler = setInterval(sampleRss, 250);
    const t0 = performance.now();
    await pool(MEASURED_PODS, 64, async (i) => {
      const name = `measured-${i}`;
      created.set(name, performance.now());
      await client.create(Pods, pod(name));
    });
    const createdAllMs = performance.now() - t0;
    await allBound(INITIAL_PODS + MEASURED_PODS, 'measured pods');
    clearInterval(sampler);
    sampleRss();
    handle.stop();
    const lat: number[] = [];
    let last = 0;
    for (const [name, c] of created) {
      const b = bound.get(name)!;
      lat.push(b - c);
      last = Math.max(last, b);
    }
    lat.sort((a, b) => a - b);
    const podsPerS = MEASURED_PODS / ((last - t0) / 1000);
    const rss = rssMb(s.child.pid!);
    const schedRss = sched ? rssMb(sched.child.pid!) : 0;
    sampleRss();
    const metrics = await client.raw('GET', '/metrics');
    const heapUsed = Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(String(metrics.body))?.[1] ?? NaN) / 2 ** 20;
    // the same cluster once the burst is over: what a server holding it needs, garbage of the burst collected
    await new Promise((r) => setTimeout(r, 20_000));
    const rssSettled = rssMb(s.child.pid!) + (sched ? rssMb(sched.child.pid!) : 0);
    return {
      podsPerS,
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      createdPerS: MEASURED_PODS / (createdAllMs / 1000),
      apiRss: rss,
      schedRss,
      heapUsed,
      rssSettled,
      peakRss,
    };
  } finally {
    client.close();
    await sched?.stop();
    await s.stop();
    s.cleanup();
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const own = await measure(true);
  const one = await measure(false);
  const r = (x: number) => x.toFixed(0);
  printTable(
    `scheduler: SchedulingBasic, ${NODES} nodes, ${INITIAL_PODS} placed, ${MEASURED_PODS} measured, 2 cores, API server on the same machine`,
    [
      ['figure', 'scheduler process', 'all-in-one server', 'reference', 'ratio (process / all-in-one)'],
      [
        'pods scheduled per second',
        r(own.podsPerS),
        r(one.podsPerS),
        `${UPSTREAM_THRESHOLD} (upstream CI threshold)`,
        `${(own.podsPerS / UPSTREAM_THRESHOLD).toFixed(2)} / ${(one.podsPerS / UPSTREAM_THRESHOLD).toFixed(2)}`,
      ],
      ['creation to binding p50 (ms)', r(own.p50), r(one.p50), '', ''],
      ['creation to binding p99 (ms)', r(own.p99), r(one.p99), '', ''],
      ['pods created per second (client)', r(own.createdPerS), r(one.createdPerS), '', ''],
      [
        `peak RSS while placing the pods, all processes (MB)`,
        r(own.peakRss),
        r(one.peakRss),
        '500 (target)',
        `${(own.peakRss / 500).toFixed(2)} / ${(one.peakRss / 500).toFixed(2)}`,
      ],
      [
        `RSS with ${NODES} nodes, ${INITIAL_PODS + MEASURED_PODS} pods, right after the last binding (MB)`,
        r(own.apiRss + own.schedRss),
        r(one.apiRss),
        '500 (target)',
        `${((own.apiRss + own.schedRss) / 500).toFixed(2)} / ${(one.apiRss / 500).toFixed(2)}`,
      ],
      ['  of which the scheduler process (MB)', r(own.schedRss), '-', '', ''],
      ['  API server JavaScript heap in use (MB)', r(own.heapUsed), r(one.heapUsed), '', ''],
      [
        'RSS 20 s after the burst (MB)',
        r(own.rssSettled),
        r(one.rssSettled),
        '500 (target)',
        `${(own.rssSettled / 500).toFixed(2)} / ${(one.rssSettled / 500).toFixed(2)}`,
      ],
    ],
  );
  return {
    pods_per_s: Math.round(own.podsPerS),
    bind_p50_ms: Math.round(own.p50),
    bind_p99_ms: Math.round(own.p99),
    // the memory of `skiff server` (all-in-one, scheduler inside) with the cluster: the peak while it was placed
    server_rss_mb: Math.round(one.peakRss),
    server_rss_after_burst_mb: Math.round(one.apiRss),
    server_rss_settled_mb: Math.round(one.rssSettled),
    all_in_one_pods_per_s: Math.round(one.podsPerS),
    all_in_one_bind_p50_ms: Math.round(one.p50),
    all_in_one_bind_p99_ms: Math.round(one.p99),
    separate_processes_rss_mb: Math.round(own.peakRss),
    scheduler_process_rss_mb: Math.round(own.schedRss),
    nodes: NODES,
    reference_pods_per_s: UPSTREAM_THRESHOLD,
    ratio: Number((own.podsPerS / UPSTREAM_THRESHOLD).toFixed(3)),
  };
}
