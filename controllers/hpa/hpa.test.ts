import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../lib/kube/object.ts';
import { Deployments, HorizontalPodAutoscalers, Pods } from '../../lib/kube/resources.ts';
import { ControllerFixture, exactly } from '../testing.ts';
import { hpaController, HPA_SYNC_PERIOD_MS, type HpaReconciler } from './index.ts';
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

async function setup(h: KubeObject, replicas: number, pods: KubeObject[], metrics: KubeObject[]) {
  const t = await ControllerFixture.of(hpaController, { clock: T0 });
  t.seed(HorizontalPodAutoscalers, h);
  t.api(Deployments, deployment(replicas));
  for (const p of pods) t.seed(Pods, p);
  for (const m of metrics) t.api(PodMetricsResource, m);
  return Object.assign(t, {
    advance: (ms: number) => (t.clock! += ms),
    /** the stored HPA back into the cache, as the watch would bring it */
    refresh: () => t.observe(HorizontalPodAutoscalers, 'default', 'web'),
    setUsage: (m: KubeObject) => t.api(PodMetricsResource, m),
    scaleTo: (n: number) => {
      t.client.stored(Deployments, 'default', 'web')!.spec.replicas = n;
    },
  });
}

const cond = (status: any, type: string) => status.conditions.find((c: any) => c.type === type);
const scaleTo = (n: number) => ({
  action: 'patch deployments/scale default/web',
  body: { spec: { replicas: n } },
  patchType: 'merge' as const,
});
const STATUS = 'update horizontalpodautoscalers/status default/web';
/** the status the last write of the HPA holds */
const lastStatus = (t: ControllerFixture<HpaReconciler>) =>
  t.client.stored(HorizontalPodAutoscalers, 'default', 'web')!.status;

describe('horizontal pod autoscaler', () => {
  it('scales up on cpu utilization, limited to max(2 x current, 4), with status, conditions and event', async () => {
    const t = await setup(hpa(), 2, [pod('a'), pod('b')], [usage('a', '200m'), usage('b', '200m')]);
    const res = await t.sync('default/web');
    assert.deepEqual(res, { requeueAfterMs: HPA_SYNC_PERIOD_MS });
    t.expectWrites([scaleTo(4), STATUS]);
    assert.deepEqual(t.recorder.events, [
      {
        object: 'HorizontalPodAutoscaler/default/web',
        type: 'Normal',
        reason: 'SuccessfulRescale',
        message: 'New size: 4; reason: cpu resource utilization (percentage of request) above target',
      },
    ]);
    const status = lastStatus(t);
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
    const t = await setup(hpa(), 2, [pod('a'), pod('b')], [usage('a', '54m'), usage('b', '54m')]);
    await t.sync('default/web');
    t.expectWrites([STATUS]);
    const status = lastStatus(t);
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
    const t = await setup(
      hpa(),
      4,
      ['a', 'b', 'c', 'd'].map((n) => pod(n)),
      ['a', 'b', 'c', 'd'].map((n) => usage(n, '50m')),
    );
    await t.sync('default/web'); // at target: recommendation 4
    t.expectWrites([STATUS]);
    t.refresh();
    for (const n of ['a', 'b', 'c', 'd']) t.setUsage(usage(n, '10m'));
    t.advance(60_000);
    await t.sync('default/web');
    t.expectWrites([STATUS]); // stabilized
    assert.equal(cond(lastStatus(t), 'AbleToScale').reason, 'ScaleDownStabilized');
    assert.equal(lastStatus(t).desiredReplicas, 4);
    t.refresh();
    t.advance(241_000);
    await t.sync('default/web');
    // 10m of 100m = 10% against 50%: ceil(0.2 * 4) = 1
    t.expectWrites([scaleTo(1), STATUS]);
    assert.equal(t.recorder.events.at(-1)!.message, 'New size: 1; reason: All metrics below target');
  });

  it('treats missing metrics as 100% of the request on a scale down, and unready pods as 0% on a scale up', async () => {
    // ready pods use 20% of a 50% target; the pod without metrics counts as 100%: (20+20+100)/3 = 46% -> within tolerance
    const t = await setup(hpa(), 3, [pod('a'), pod('b'), pod('c')], [usage('a', '20m'), usage('b', '20m')]);
    await t.sync('default/web');
    t.expectWrites([STATUS]);
    // scale up with an unready pod: (100+100+0)/3 = 66% of 50% -> ratio 1.33 -> ceil(1.33 * 3) = 4
    const t2 = await setup(
      hpa(),
      3,
      [pod('a'), pod('b'), pod('c', { ready: false })],
      [usage('a', '100m'), usage('b', '100m'), usage('c', '100m')],
    );
    await t2.sync('default/web');
    t2.expectWrites([scaleTo(4), STATUS]);
  });

  it('scales on memory AverageValue', async () => {
    const h = hpa({
      metrics: [
        { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } },
      ],
    });
    const t = await setup(h, 2, [pod('a'), pod('b')], [usage('a', '1m', '300Mi'), usage('b', '1m', '300Mi')]);
    await t.sync('default/web');
    t.expectWrites([
      scaleTo(4),
      {
        action: STATUS,
        has: {
          status: {
            // as Kubernetes prints it: a DecimalSI quantity
            currentMetrics: exactly([
              { type: 'Resource', resource: { name: 'memory', current: { averageValue: '314572800' } } },
            ]),
          },
        },
      },
    ]);
    assert.equal(t.recorder.events[0].message, 'New size: 4; reason: memory resource above target');
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
    const t = await setup(h, 2, [pod('a'), pod('b')], [usage('a', '200m'), usage('b', '200m')]);
    await t.sync('default/web');
    t.expectWrites([scaleTo(3), STATUS]);
    // 30 s later, still within the 60 s period: no more room
    t.refresh();
    t.scaleTo(3);
    t.advance(30_000);
    await t.sync('default/web');
    t.expectWrites([STATUS]);
    const st = lastStatus(t);
    assert.deepEqual([cond(st, 'ScalingLimited').status, cond(st, 'ScalingLimited').reason], ['True', 'ScaleUpLimit']);
  });

  it('keeps the target within min and max replicas', async () => {
    const t = await setup(hpa({ maxReplicas: 5 }), 8, [pod('a')], [usage('a', '50m')]);
    await t.sync('default/web');
    t.expectWrites([scaleTo(5), STATUS]);
    assert.equal(
      t.recorder.events[0].message,
      'New size: 5; reason: Current number of replicas above Spec.MaxReplicas',
    );
    const t2 = await setup(hpa({ minReplicas: 3 }), 0, [], []);
    await t2.sync('default/web');
    t2.expectWrites([STATUS]);
    const st = lastStatus(t2);
    assert.deepEqual(
      [cond(st, 'ScalingActive').status, cond(st, 'ScalingActive').reason],
      ['False', 'ScalingDisabled'],
    );
  });

  it('reports metrics it cannot read', async () => {
    const t = await setup(hpa(), 2, [pod('a'), pod('b')], []);
    t.client.failNext('list');
    await t.sync('default/web');
    t.expectWrites([STATUS]);
    const st = lastStatus(t);
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
    const t2 = await setup(hpa(), 2, [pod('a'), pod('b')], []);
    await t2.sync('default/web');
    t2.expectWrites([STATUS]);
    assert.match(t2.recorder.events[0].message, /did not receive metrics for targeted pods \(pods might be unready\)/);
    // a missing request
    const noReq = pod('a');
    delete noReq.spec.containers[0].resources;
    const t3 = await setup(hpa(), 1, [noReq], [usage('a', '10m')]);
    await t3.sync('default/web');
    t3.expectWrites([STATUS]);
    assert.match(t3.recorder.events[0].message, /missing request for cpu in container app of Pod a/);
  });

  it('reports a target it cannot find', async () => {
    const t = await setup(
      hpa({ scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'nope' } }),
      2,
      [],
      [],
    );
    await t.sync('default/web');
    t.expectWrites([STATUS]);
    const st = lastStatus(t);
    assert.equal(cond(st, 'AbleToScale').reason, 'FailedGetScale');
    assert.match(
      cond(st, 'AbleToScale').message,
      /^the HPA controller was unable to get the target's current scale: deployments.apps "nope" not found$/,
    );
  });

  it('looks at an HPA when it comes, goes, or its spec changes, not when its status does', async () => {
    const t = await setup(hpa(), 2, [], []);
    assert.deepEqual(t.drain(), ['default/web']);
    const stored = t.client.stored(HorizontalPodAutoscalers, 'default', 'web')!;
    t.cache(HorizontalPodAutoscalers, { ...stored, status: { currentReplicas: 2 } });
    t.cache(HorizontalPodAutoscalers, { ...stored, metadata: { ...stored.metadata, generation: 2 } });
    t.remove(HorizontalPodAutoscalers, stored);
    assert.deepEqual(t.drain(), ['default/web', 'default/web']);
  });
});
