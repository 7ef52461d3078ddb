import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BEHAVIOR_ANNOTATION,
  CONDITIONS_ANNOTATION,
  CURRENT_METRICS_ANNOTATION,
  METRICS_ANNOTATION,
  hpaV1Strategy,
  hpaV1ToV2,
  hpaV2ToV1,
} from './hpa-v1.ts';

const ref = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' };
const v2 = {
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'web', namespace: 'default', annotations: { keep: 'me' } },
  spec: {
    scaleTargetRef: ref,
    minReplicas: 2,
    maxReplicas: 10,
    metrics: [
      { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '500Mi' } } },
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } },
      { type: 'Pods', pods: { metric: { name: 'rps' }, target: { type: 'AverageValue', averageValue: '10' } } },
      {
        type: 'External',
        external: {
          metric: { name: 'queue', selector: { matchLabels: { q: 'a' } } },
          target: { type: 'Value', value: '30' },
        },
      },
      {
        type: 'Object',
        object: {
          describedObject: { kind: 'Service', name: 's', apiVersion: 'v1' },
          metric: { name: 'hits' },
          target: { type: 'Value', value: '5' },
        },
      },
    ],
    behavior: {
      scaleDown: {
        stabilizationWindowSeconds: 60,
        selectPolicy: 'Min',
        policies: [{ type: 'Pods', value: 1, periodSeconds: 30 }],
      },
    },
  },
  status: {
    observedGeneration: 3,
    currentReplicas: 4,
    desiredReplicas: 5,
    currentMetrics: [
      { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 70, averageValue: '700m' } } },
      { type: 'Pods', pods: { metric: { name: 'rps' }, current: { averageValue: '12' } } },
    ],
    conditions: [
      {
        type: 'AbleToScale',
        status: 'True',
        lastTransitionTime: '2026-01-01T00:00:00Z',
        reason: 'ReadyForNewScale',
        message: 'ok',
      },
    ],
  },
};

describe('autoscaling/v1 HorizontalPodAutoscalers', () => {
  it('show the CPU target and status in their own fields and the rest in annotations', () => {
    const v1 = hpaV2ToV1(v2);
    assert.equal(v1.apiVersion, 'autoscaling/v1');
    assert.deepEqual(v1.spec, {
      scaleTargetRef: ref,
      minReplicas: 2,
      maxReplicas: 10,
      targetCPUUtilizationPercentage: 60,
    });
    assert.deepEqual(v1.status, {
      observedGeneration: 3,
      currentReplicas: 4,
      desiredReplicas: 5,
      currentCPUUtilizationPercentage: 70,
    });
    const ann = v1.metadata.annotations;
    assert.equal(ann.keep, 'me');
    assert.deepEqual(JSON.parse(ann[METRICS_ANNOTATION]), [
      { type: 'Resource', resource: { name: 'memory', targetAverageValue: '500Mi' } },
      { type: 'Pods', pods: { metricName: 'rps', targetAverageValue: '10' } },
      {
        type: 'External',
        external: { metricName: 'queue', metricSelector: { matchLabels: { q: 'a' } }, targetValue: '30' },
      },
      {
        type: 'Object',
        object: { target: { kind: 'Service', name: 's', apiVersion: 'v1' }, metricName: 'hits', targetValue: '5' },
      },
    ]);
    assert.deepEqual(JSON.parse(ann[CURRENT_METRICS_ANNOTATION])[0], {
      type: 'Resource',
      resource: { name: 'cpu', currentAverageUtilization: 70, currentAverageValue: '700m' },
    });
    assert.equal(JSON.parse(ann[CONDITIONS_ANNOTATION])[0].reason, 'ReadyForNewScale');
    assert.deepEqual(JSON.parse(ann[BEHAVIOR_ANNOTATION]).ScaleDown.Policies, [
      { Type: 'Pods', Value: 1, PeriodSeconds: 30 },
    ]);
  });

  it('round-trip: a v2 object read and written back through v1 loses nothing (metric order: CPU last)', () => {
    const back = hpaV1ToV2(hpaV2ToV1(v2));
    const cpuLast = [...v2.spec.metrics.filter((m) => m.resource?.name !== 'cpu'), v2.spec.metrics[1]];
    assert.deepEqual(back, { ...v2, spec: { ...v2.spec, metrics: cpuLast } });
  });

  it('a v1 object without a target gets 80% CPU; minReplicas defaults to 1; a target below 1 is refused', () => {
    const v1 = { metadata: { name: 'x', namespace: 'default' }, spec: { scaleTargetRef: ref, maxReplicas: 3 } };
    hpaV1Strategy.defaults(v1);
    const stored = hpaV1ToV2(v1);
    assert.deepEqual(stored.spec, {
      scaleTargetRef: ref,
      minReplicas: 1,
      maxReplicas: 3,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
      ],
    });
    assert.equal(hpaV2ToV1(stored).spec.targetCPUUtilizationPercentage, 80);
    assert.deepEqual(hpaV1Strategy.validate(v1), []);
    const bad = { ...v1, spec: { ...v1.spec, targetCPUUtilizationPercentage: 0, maxReplicas: 0 } };
    assert.deepEqual(
      hpaV1Strategy.validate(bad).map((e) => e.field),
      ['spec.maxReplicas', 'spec.maxReplicas', 'spec.targetCPUUtilizationPercentage'],
    );
  });
});
