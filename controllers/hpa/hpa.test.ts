import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryEventRecorder } from '../../lib/kube/events.ts';
import { FakeClient } from '../../lib/kube/fake.ts';
import { InformerFactory } from '../../lib/kube/informer.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { Deployments, HorizontalPodAutoscalers, Pods } from '../../lib/kube/resources.ts';
import { HpaReconciler, HPA_SYNC_PERIOD_MS } from './index.ts';
import { PodMetricsResource } from './metrics.ts';

const T0 = Date.parse('2024-05-01T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

function hpa(spec: any = {}, status?: any): KubeObject {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', namespace: 'default', generation: 1 },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      minReplicas: 1,
      maxReplicas: 10,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
      ],
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

function deployment(replicas: number): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: { replicas, selector: { matchLabels: { app: 'web' } } },
  };
}

function pod(name: string, opts: { cpu?: string; memory?: string; ready?: boolean; phase?: string } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'web' } },
    spec: {
      containers: [
        { name: 'app', resources: { requests: { cpu: opts.cpu ?? '100m', memory: opts.memory ?? '100Mi' } } },
      ],
    },
    status: {
      phase: opts.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }],
    },
  };
}

function usage(name: string, cpu: string, memory = '50Mi'): KubeObject {
  return {
    apiVersion: 'metrics.k8s.io/v1beta1',
    kind: 'PodMetrics',
    metadata: { name, namespace: 'default', labels: { app: 'web' } },
    timestamp: iso(T0),
    window: '30s',
    containers: [{ name: 'app', usage: { cpu, memory } }],
  };
}

function setup(h: KubeObject, replicas: number, pods: KubeObject[], metrics: KubeObject[]) {
  const client = new FakeClient();
  const factory = new InformerFactory(client);
  const recorder = new MemoryEventRecorder();
  let now = T0;
  factory.informer(HorizontalPodAutoscalers).upsert(client.seed(HorizontalPodAutoscalers, h));
  client.seed(Deployments, deployment(replicas));
  for (const p of pods) factory.informer(Pods).upsert(client.seed(Pods, p));
  for (const m of metrics) client.seed(PodMetricsResource, m);
  factory.markAllSynced();
  const reconciler = new HpaReconciler(
    client,
    recorder,
    factory.informer(HorizontalPodAutoscalers),
    factory.informer(Pods),
    () => now,
  );
  return {
    client,
    recorder,
    reconciler,
    advance: (ms: number) => (now += ms),
    /** the stored HPA back into the cache, as the watch would bring it */
    refresh: () =>
      factory.informer(HorizontalPodAutoscalers).upsert(client.stored(HorizontalPodAutoscalers, 'default', 'web')!),
    setUsage: (m: KubeObject) => client.seed(PodMetricsResource, m),
    scaleTo: (n: number) => {
      const d = client.stored(Deployments, 'default', 'web')!;
      d.spec.replicas = n;
    },
    writes: () => client.writes().map((a) => `${a.verb} ${a.resource}${a.subresource ? '/' + a.subresource : ''}`),
  };
}

const cond = (status: any, type: string) => status.conditions.find((c: any) => c.type === type);

describe('horizontal pod autoscaler', () => {
  it('scales up on cpu utilization, limited to max(2 x current, 4), with status, conditions and event', async () => {
    const t = setup(hpa(), 2, [pod('a'), pod('b')], [usage('a', '200m'), usage('b', '200m')]);
    const res = await t.reconciler.reconcile('default/web');
    assert.deepEqual(res, { requeueAfterMs: HPA_SYNC_PERIOD_MS });
    assert.deepEqual(t.writes(), ['patch deployments/scale', 'update horizontalpodautoscalers/status']);
    const [scale, st] = t.client.writes();
    assert.deepEqual(scale.body, { spec: { replicas: 4 } });
    assert.deepEqual(t.recorder.events, [
      {
        object: 'HorizontalPodAutoscaler/default/web',
        type: 'Normal',
        reason: 'SuccessfulRescale',
        message: 'New size: 4; reason: cpu resource utilization (percentage of request) above target',
      },
    ]);
    const status = st.body.status;
    assert.equal(status.currentReplicas, 2);
    assert.equal(status.desiredReplicas, 4);
    assert.equal(status.lastScaleTime, iso(T0));
    assert.equal(status.observedGeneration, 1);
    assert.deepEqual(status.currentMetrics, [
      { type: 'Resource', resource: { name: 'cpu', current: { averageValue: '200m', averageUtilization: 200 } } },
    ]);
    assert.deepEqual(
      status.conditions.map((c: any) => [c.type, c.status, c.reason]),
      [
        ['AbleToScale', 'True', 'SucceededRescale'],
        ['ScalingActive', 'True', 'ValidMetricFound'],
        ['ScalingLimited', 'True', 'ScaleUpLimit'],
      ],
    );
    assert.equal(cond(status, 'AbleToScale').message, 'the HPA controller was able to update the target scale to 4');
    assert.equal(
      cond(status, 'ScalingActive').message,
      'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)',
    );
    assert.equal(
      cond(status, 'ScalingLimited').message,
      'the desired replica count is increasing faster than the maximum scale rate',
    );
  });

  it('does nothing within the 10% tolerance', async () => {
    const t = setup(hpa(), 2, [pod('a'), pod('b')], [usage('a', '54m'), usage('b', '54m')]);
    await t.reconciler.reconcile('default/web');
    assert.deepEqual(t.writes(), ['update horizontalpodautoscalers/status']);
    const status = t.client.writes()[0].body.status;
    assert.equal(status.desiredReplicas, 2);
    assert.equal(status.lastScaleTime, undefined);
    assert.deepEqual(cond(status, 'AbleToScale'), {
      type: 'AbleToScale',
      status: 'True',
      lastTransitionTime: iso(T0),
      reason: 'ReadyForNewScale',
      message: 'recommended size matches current size',
    });
    assert.equal(cond(status, 'ScalingLimited').reason, 'DesiredWithinRange');
    assert.deepEqual(t.recorder.events, []);
  });

  it('scales down only after the 5 minute stabilization window', async () => {
    const t = setup(
      hpa(),
      4,
      ['a', 'b', 'c', 'd'].map((n) => pod(n)),
      ['a', 'b', 'c', 'd'].map((n) => usage(n, '50m')),
    );
    await t.reconciler.reconcile('default/web'); // at target: recommendation 4
    t.refresh();
    for (const n of ['a', 'b', 'c', 'd']) t.setUsage(usage(n, '10m'));
    t.advance(60_000);
    t.client.clearActions();
    await t.reconciler.reconcile('default/web');
    assert.ok(!t.writes().includes('patch deployments/scale'), 'stabilized');
    const st = t.client.writes()[0].body.status;
    assert.equal(cond(st, 'AbleToScale').reason, 'ScaleDownStabilized');
    assert.equal(st.desiredReplicas, 4);
    t.refresh();
    t.advance(241_000);
    t.client.clearActions();
    await t.reconciler.reconcile('default/web');
    // 10m of 100m = 10% against 50%: ceil(0.2 * 4) = 1
    assert.deepEqual(t.client.writes()[0].body, { spec: { replicas: 1 } });
    assert.equal(t.recorder.events.at(-1)!.message, 'New size: 1; reason: All metrics below target');
  });

  it('treats missing metrics as 100% of the request on a scale down, and unready pods as 0% on a scale up', async () => {
    // ready pods use 20% of a 50% target; the pod without metrics counts as 100%: (20+20+100)/3 = 46% -> within tolerance
    const t = setup(hpa(), 3, [pod('a'), pod('b'), pod('c')], [usage('a', '20m'), usage('b', '20m')]);
    await t.reconciler.reconcile('default/web');
    assert.ok(!t.writes().includes('patch deployments/scale'));
    // scale up with an unready pod: (100+100+0)/3 = 66% of 50% -> ratio 1.33 -> ceil(1.33 * 3) = 4
    const t2 = setup(
      hpa(),
      3,
      [pod('a'), pod('b'), pod('c', { ready: false })],
      [usage('a', '100m'), usage('b', '100m'), usage('c', '100m')],
    );
    await t2.reconciler.reconcile('default/web');
    assert.deepEqual(t2.client.writes()[0].body, { spec: { replicas: 4 } });
  });

  it('scales on memory AverageValue', async () => {
    const h = hpa({
      metrics: [
        { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } },
      ],
    });
    const t = setup(h, 2, [pod('a'), pod('b')], [usage('a', '1m', '300Mi'), usage('b', '1m', '300Mi')]);
    await t.reconciler.reconcile('default/web');
    assert.deepEqual(t.client.writes()[0].body, { spec: { replicas: 4 } });
    assert.equal(t.recorder.events[0].message, 'New size: 4; reason: memory resource above target');
    const st = t.client.writes()[1].body.status;
    assert.deepEqual(st.currentMetrics, [
      { type: 'Resource', resource: { name: 'memory', current: { averageValue: '314572800' } } },
    ]); // as Kubernetes prints it: a DecimalSI quantity
  });

  it('follows behavior policies', async () => {
    const h = hpa({
      behavior: {
        scaleUp: {
          stabilizationWindowSeconds: 0,
          selectPolicy: 'Max',
          policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }],
        },
      },
    });
    const t = setup(h, 2, [pod('a'), pod('b')], [usage('a', '200m'), usage('b', '200m')]);
    await t.reconciler.reconcile('default/web');
    assert.deepEqual(t.client.writes()[0].body, { spec: { replicas: 3 } });
    // 30 s later, still within the 60 s period: no more room
    t.refresh();
    t.scaleTo(3);
    t.advance(30_000);
    t.client.clearActions();
    await t.reconciler.reconcile('default/web');
    assert.ok(!t.writes().includes('patch deployments/scale'));
    const st = t.client.writes()[0].body.status;
    assert.deepEqual([cond(st, 'ScalingLimited').status, cond(st, 'ScalingLimited').reason], ['True', 'ScaleUpLimit']);
  });

  it('keeps the target within min and max replicas', async () => {
    const t = setup(hpa({ maxReplicas: 5 }), 8, [pod('a')], [usage('a', '50m')]);
    await t.reconciler.reconcile('default/web');
    assert.deepEqual(t.client.writes()[0].body, { spec: { replicas: 5 } });
    assert.equal(
      t.recorder.events[0].message,
      'New size: 5; reason: Current number of replicas above Spec.MaxReplicas',
    );
    const t2 = setup(hpa({ minReplicas: 3 }), 0, [], []);
    await t2.reconciler.reconcile('default/web');
    const st = t2.client.writes()[0].body.status;
    assert.deepEqual(
      [cond(st, 'ScalingActive').status, cond(st, 'ScalingActive').reason],
      ['False', 'ScalingDisabled'],
    );
    assert.ok(!t2.writes().includes('patch deployments/scale'));
  });

  it('reports metrics it cannot read', async () => {
    const t = setup(hpa(), 2, [pod('a'), pod('b')], []);
    t.client.failNext('list');
    await t.reconciler.reconcile('default/web');
    assert.deepEqual(t.writes(), ['update horizontalpodautoscalers/status']);
    const st = t.client.writes()[0].body.status;
    assert.equal(cond(st, 'ScalingActive').status, 'False');
    assert.equal(cond(st, 'ScalingActive').reason, 'FailedGetResourceMetric');
    assert.match(
      cond(st, 'ScalingActive').message,
      /^the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: injected failure$/,
    );
    assert.deepEqual(
      t.recorder.events.map((e) => e.reason),
      ['FailedGetResourceMetric', 'FailedComputeMetricsReplicas'],
    );
    assert.match(
      t.recorder.events[1].message,
      /^invalid metrics \(1 invalid out of 1\), first error is: failed to get cpu utilization/,
    );

    // metrics served but none for these pods
    const t2 = setup(hpa(), 2, [pod('a'), pod('b')], []);
    await t2.reconciler.reconcile('default/web');
    assert.match(t2.recorder.events[0].message, /did not receive metrics for targeted pods \(pods might be unready\)/);
    // a missing request
    const noReq = pod('a');
    delete noReq.spec.containers[0].resources;
    const t3 = setup(hpa(), 1, [noReq], [usage('a', '10m')]);
    await t3.reconciler.reconcile('default/web');
    assert.match(t3.recorder.events[0].message, /missing request for cpu in container app of Pod a/);
  });

  it('reports a target it cannot find', async () => {
    const t = setup(hpa({ scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'nope' } }), 2, [], []);
    await t.reconciler.reconcile('default/web');
    const st = t.client.writes()[0].body.status;
    assert.equal(cond(st, 'AbleToScale').reason, 'FailedGetScale');
    assert.match(
      cond(st, 'AbleToScale').message,
      /^the HPA controller was unable to get the target's current scale: deployments.apps "nope" not found$/,
    );
  });
});
