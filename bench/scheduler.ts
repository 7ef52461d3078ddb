/**
 * Scheduler throughput in the shape of kube-scheduler's SchedulingBasic: 5,000 nodes, 1,000 pods placed first, then
 * 10,000 pods measured from creation to binding. The API server and the scheduler run in one `skiff server` process
 * on this machine (controllers off, as upstream runs only the scheduler); the nodes are plain Node objects. The
 * reference is the upstream CI threshold of 680 pods/s (performance-anchors), and the server's memory with
 * 5,000 nodes and 11,000 pods is reported against its 500 MB target.
 */
import { Client } from '../lib/kube/client.ts';
import { Nodes, Pods } from '../lib/kube/resources.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { startSkiff } from '../test/harness/skiff.ts';
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
    metadata: { name: `bench-node-${i}`, labels: { 'kubernetes.io/hostname': `bench-node-${i}`, 'topology.kubernetes.io/zone': `zone-${i % 3}` } },
    spec: {},
    status: {
      capacity: { cpu: '4', memory: '32Gi', pods: '110' },
      allocatable: { cpu: '4', memory: '32Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ready', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }],
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
    spec: { containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '100m', memory: '500Mi' }, limits: { cpu: '100m', memory: '500Mi' } } }] },
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const s = await startSkiff({ args: ['--disable-controller-manager'] });
  const client = await Client.fromKubeconfig(s.kubeconfig, { maxSockets: 64 });
  try {
    let t = performance.now();
    await pool(NODES, 32, async (i) => {
      const created = await client.create(Nodes, node(i));
      if (!created.status?.allocatable) await client.update(Nodes, { ...created, status: node(i).status }, { subresource: 'status' });
    });
    console.log(`${NODES} nodes registered in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // one watch sees every binding
    const created = new Map<string, number>();
    const bound = new Map<string, number>();
    let waiter: { n: number; resolve: () => void } | undefined;
    const handle = client.watch(Pods, { namespace: 'default' }, (ev) => {
      const p = ev.object;
      if ((ev.type === 'ADDED' || ev.type === 'MODIFIED') && p.spec?.nodeName && !bound.has(p.metadata.name!)) {
        bound.set(p.metadata.name!, performance.now());
        if (waiter && bound.size >= waiter.n) waiter.resolve();
      }
    }, (err) => {
      if (err) console.error(`bench watch ended: ${err.message}`);
    });
    const allBound = (n: number, what: string) =>
      new Promise<void>((resolve, reject) => {
        if (bound.size >= n) return resolve();
        const timer = setTimeout(() => reject(new Error(`${what}: only ${bound.size} of ${n} pods bound after 10 minutes`)), 600_000);
        waiter = { n, resolve: () => (clearTimeout(timer), resolve()) };
      });

    t = performance.now();
    await pool(INITIAL_PODS, 32, async (i) => {
      await client.create(Pods, pod(`initial-${i}`));
    });
    await allBound(INITIAL_PODS, 'initial pods');
    console.log(`${INITIAL_PODS} initial pods placed in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const t0 = performance.now();
    await pool(MEASURED_PODS, 64, async (i) => {
      const name = `measured-${i}`;
      created.set(name, performance.now());
      await client.create(Pods, pod(name));
    });
    const createdAllMs = performance.now() - t0;
    await allBound(INITIAL_PODS + MEASURED_PODS, 'measured pods');
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
    const metrics = await client.raw('GET', '/metrics');
    const heapUsed = Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(String(metrics.body))?.[1] ?? NaN) / 2 ** 20;
    // the same cluster once the burst is over: what a server holding it needs, garbage of the burst collected
    await new Promise((r) => setTimeout(r, 20_000));
    const rssSettled = rssMb(s.child.pid!);
    const heapSettled = Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(String((await client.raw('GET', '/metrics')).body))?.[1] ?? NaN) / 2 ** 20;
    printTable(`scheduler: SchedulingBasic, ${NODES} nodes, ${INITIAL_PODS} placed, ${MEASURED_PODS} measured (API server + scheduler in one process, 2 cores)`, [
      ['figure', 'skiff', 'reference', 'ratio'],
      ['pods scheduled per second', podsPerS.toFixed(0), `${UPSTREAM_THRESHOLD} (upstream CI threshold)`, (podsPerS / UPSTREAM_THRESHOLD).toFixed(2)],
      ['creation to binding p50 (ms)', percentile(lat, 50).toFixed(0), '', ''],
      ['creation to binding p99 (ms)', percentile(lat, 99).toFixed(0), '', ''],
      ['pods created per second (client)', (MEASURED_PODS / (createdAllMs / 1000)).toFixed(0), '', ''],
      [`server RSS with ${NODES} nodes, ${INITIAL_PODS + MEASURED_PODS} pods (MB)`, rss.toFixed(0), '500 (target)', (rss / 500).toFixed(2)],
      ['of which JavaScript heap in use (MB)', heapUsed.toFixed(0), '', ''],
      ['server RSS 20 s after the burst (MB)', rssSettled.toFixed(0), '500 (target)', (rssSettled / 500).toFixed(2)],
      ['of which JavaScript heap in use (MB)', heapSettled.toFixed(0), '', ''],
    ]);
    return {
      pods_per_s: Math.round(podsPerS),
      bind_p50_ms: Math.round(percentile(lat, 50)),
      bind_p99_ms: Math.round(percentile(lat, 99)),
      server_rss_mb: Math.round(rss),
      server_heap_used_mb: Math.round(heapUsed),
      server_rss_settled_mb: Math.round(rssSettled),
      server_heap_settled_mb: Math.round(heapSettled),
      nodes: NODES,
      reference_pods_per_s: UPSTREAM_THRESHOLD,
      ratio: Number((podsPerS / UPSTREAM_THRESHOLD).toFixed(3)),
    };
  } finally {
    client.close();
    await s.stop();
    s.cleanup();
  }
}
