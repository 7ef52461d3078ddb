/**
 * Rollout benchmark: a 1,000-replica Deployment on 500 simulated nodes (tools/sim-nodes, run by this process; they
 * report bound pods Running and Ready as a kubelet would). Measures the time from creating the Deployment to all
 * replicas available, and from changing its image (maxSurge 25%, maxUnavailable 25%) to the new revision complete,
 * with the whole control plane (API server, scheduler, controllers) in one `skiff server` process on this machine.
 */
import { Client } from '../lib/kube/client.ts';
import { Deployments } from '../lib/kube/resources.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { SimNodes } from '../tools/sim-nodes/index.ts';
import { startSkiff } from '../test/harness/skiff.ts';
import { printTable, rssMb } from './client.ts';

const NODES = Number(process.env.SKIFF_BENCH_NODES ?? 500);
const REPLICAS = Number(process.env.SKIFF_BENCH_REPLICAS ?? 1000);

function deployment(): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'bench', namespace: 'default' },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: { app: 'rollout-bench' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'rollout-bench' } },
        spec: {
          containers: [
            { name: 'app', image: 'registry.local/app:1', resources: { requests: { cpu: '10m', memory: '16Mi' } } },
          ],
        },
      },
    },
  };
}

/** resolves when the Deployment's status says the current generation is fully rolled out and available */
function complete(client: Client, since: number, generation: () => number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      h.stop();
      reject(new Error('the rollout did not complete in 15 minutes'));
    }, 900_000);
    const h = client.watch(
      Deployments,
      { namespace: 'default', fieldSelector: 'metadata.name=bench' },
      (ev) => {
        const d = ev.object;
        const st = d.status ?? {};
        if (
          (st.observedGeneration ?? 0) >= Math.max(generation(), d.metadata.generation ?? 1) &&
          st.updatedReplicas === REPLICAS &&
          st.replicas === REPLICAS &&
          st.availableReplicas === REPLICAS
        ) {
          clearTimeout(timer);
          h.stop();
          resolve((performance.now() - since) / 1000);
        }
      },
      (err) => {
        if (err) reject(err);
      },
    );
  });
}

export async function run(): Promise<Record<string, unknown>> {
  const s = await startSkiff();
  const client = await Client.fromKubeconfig(s.kubeconfig, { maxSockets: 64 });
  const sim = new SimNodes({ client, count: NODES, prefix: 'rollout-node-' });
  try {
    await sim.start();
    let t = performance.now();
    const available = complete(client, t, () => 1);
    await client.create(Deployments, deployment());
    const applyToAvailable = await available;
    console.log(`${REPLICAS} replicas available in ${applyToAvailable.toFixed(1)} s`);

    t = performance.now();
    // the watch may show the finished first rollout before the new spec: only the new generation counts
    let newGeneration = Infinity;
    const updated = complete(client, t, () => newGeneration);
    const patched = await client.patch(
      Deployments,
      'default',
      'bench',
      { spec: { template: { spec: { containers: [{ name: 'app', image: 'registry.local/app:2' }] } } } },
      'strategic',
    );
    newGeneration = patched.metadata.generation ?? 2;
    const updateToComplete = await updated;
    const rss = rssMb(s.child.pid!);
    printTable(
      `rollout: Deployment of ${REPLICAS} on ${NODES} simulated nodes (control plane in one process, 2 cores)`,
      [
        ['figure', 'seconds', 'pods per second'],
        ['apply to all available', applyToAvailable.toFixed(1), (REPLICAS / applyToAvailable).toFixed(0)],
        [
          'set image to new revision complete (maxSurge 25%)',
          updateToComplete.toFixed(1),
          (REPLICAS / updateToComplete).toFixed(0),
        ],
        ['server RSS (MB)', rss.toFixed(0), ''],
      ],
    );
    return {
      apply_to_available_s: Number(applyToAvailable.toFixed(2)),
      update_to_complete_s: Number(updateToComplete.toFixed(2)),
      replicas: REPLICAS,
      nodes: NODES,
      server_rss_mb: Math.round(rss),
    };
  } finally {
    await sim.stop();
    client.close();
    await s.stop();
    s.cleanup();
  }
}
