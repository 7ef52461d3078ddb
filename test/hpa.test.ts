/**
 * The HorizontalPodAutoscaler against a real `skiff server` and simulated nodes: the test writes the pods' usage as
 * metrics.k8s.io PodMetrics (what the node agents report), and the HPA scales the Deployment through its scale
 * subresource as Kubernetes' algorithm says.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { startRole, type RoleProcess } from './harness/processes.ts';
import { eventually } from './harness/eventually.ts';
import { Client } from '../lib/kube/client.ts';
import { Deployments, HorizontalPodAutoscalers, PodMetrics, Pods } from '../lib/kube/resources.ts';
import { isNotFound } from '../lib/kube/api.ts';

/** the HPA acts every few seconds: generous waits, asking four times a second */
const HPA_WAIT = 90_000;

describe('HorizontalPodAutoscaler with metrics written by the test', () => {
  let s: SkiffProcess;
  let sim: RoleProcess;
  let client: Client;

  before(async () => {
    s = await startSkiff();
    sim = startRole(['sim-nodes', '--kubeconfig', s.kubeconfig, '--count', '2', '--lease-renew-interval', '2']);
    await sim.waitFor('ready');
    client = await Client.fromKubeconfig(s.kubeconfig);
  });
  after(async () => {
    await sim?.stop();
    client?.close();
    await s?.stop();
    s?.cleanup();
  });

  /** every running pod of the app reports this much cpu */
  async function report(cpu: string): Promise<number> {
    const pods = (await client.list(Pods, { namespace: 'default', labelSelector: 'app=busy' })).items.filter(
      (p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running',
    );
    for (const p of pods) {
      const m = {
        apiVersion: 'metrics.k8s.io/v1beta1',
        kind: 'PodMetrics',
        metadata: { name: p.metadata.name, namespace: 'default', labels: p.metadata.labels },
        timestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        window: '30s',
        containers: [{ name: 'c', usage: { cpu, memory: '10Mi' } }],
      };
      try {
        const cur = await client.get(PodMetrics, 'default', p.metadata.name!);
        await client.update(PodMetrics, {
          ...m,
          metadata: { ...m.metadata, resourceVersion: cur.metadata.resourceVersion },
        } as any);
      } catch (e) {
        if (!isNotFound(e)) throw e;
        await client.create(PodMetrics, m as any);
      }
    }
    return pods.length;
  }

  it('scales up when the pods use twice their target', async () => {
    await client.create(Deployments, {
      metadata: { name: 'busy', namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'busy' } },
        template: {
          metadata: { labels: { app: 'busy' } },
          spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '100m' } } }] },
        },
      },
    });
    await eventually('2 running', async () => (await report('100m')) === 2, HPA_WAIT, 250);
    await client.create(HorizontalPodAutoscalers, {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'busy', namespace: 'default' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'busy' },
        minReplicas: 1,
        maxReplicas: 6,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
        ],
      },
    });
    // 100% of the request against a 50% target: ceil(2 * 100/50) = 4
    const d = await eventually(
      'scaled to 4',
      async () => {
        const dep = await client.get(Deployments, 'default', 'busy');
        return dep.spec?.replicas === 4 && dep;
      },
      HPA_WAIT,
      250,
    );
    assert.equal(d.spec?.replicas, 4);
    const hpa = await eventually(
      'status',
      async () => {
        const h = await client.get(HorizontalPodAutoscalers, 'default', 'busy');
        return h.status?.desiredReplicas === 4 && h;
      },
      HPA_WAIT,
      250,
    );
    assert.equal(hpa.status?.currentMetrics?.[0].resource?.current.averageUtilization, 100);
    assert.ok(hpa.status?.conditions?.some((c: any) => c.type === 'ScalingActive' && c.status === 'True'));
    assert.ok(hpa.status?.lastScaleTime);
  });
});
