import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daemonSetStrategy, deploymentStrategy, replicaSetStrategy, statefulSetStrategy } from './apps.ts';
import { fieldErrorString } from '../status-errors.ts';
import type { Strategy } from '../strategy.ts';

const s = (errs: any[]) => errs.map(fieldErrorString);
function workload(spec: any = {}): any {
  return {
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
      ...spec,
    },
  };
}
function errs(st: Strategy, obj: any): string[] {
  st.defaults(obj);
  return s(st.validate(obj));
}

test('deployment defaults', () => {
  const d = workload();
  deploymentStrategy.defaults(d);
  assert.equal(d.spec.replicas, 1);
  assert.deepEqual(d.spec.strategy, {
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
  });
  assert.equal(d.spec.revisionHistoryLimit, 10);
  assert.equal(d.spec.progressDeadlineSeconds, 600);
  assert.equal(d.spec.template.spec.restartPolicy, 'Always');
  assert.equal(d.spec.template.spec.containers[0].imagePullPolicy, 'Always');
  assert.equal(d.spec.template.spec.tolerations, undefined, 'pod admission defaults are not applied to templates');
  assert.deepEqual(deploymentStrategy.validate(d), []);
});

test('deployment validation', () => {
  assert.deepEqual(
    errs(
      deploymentStrategy,
      workload({ template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: '' }] } } }),
    ),
    [
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`',
      'spec.template.spec.containers[0].image: Required value',
    ],
  );
  assert.deepEqual(errs(deploymentStrategy, workload({ selector: undefined })), ['spec.selector: Required value']);
  assert.deepEqual(errs(deploymentStrategy, workload({ selector: {} })), [
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment',
  ]);
  assert.deepEqual(errs(deploymentStrategy, workload({ replicas: -1 })), [
    'spec.replicas: Invalid value: -1: must be greater than or equal to 0',
  ]);
  assert.deepEqual(
    errs(
      deploymentStrategy,
      workload({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } } }),
    ),
    [
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0',
    ],
  );
  assert.deepEqual(
    errs(
      deploymentStrategy,
      workload({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '110%' } } }),
    ),
    [
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"110%"}: must not be greater than 100%',
    ],
  );
  assert.deepEqual(errs(deploymentStrategy, workload({ strategy: { type: 'Recreate', rollingUpdate: {} } })), [
    "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
  ]);
  assert.deepEqual(errs(deploymentStrategy, workload({ strategy: { type: 'BlueGreen' } })), [
    'spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:"BlueGreen", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: "Recreate", "RollingUpdate"',
  ]);
  const bad = workload();
  bad.spec.template.spec.restartPolicy = 'Never';
  assert.deepEqual(errs(deploymentStrategy, bad), [
    'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
  ]);
  assert.deepEqual(errs(deploymentStrategy, workload({ minReadySeconds: 700 })), [
    'spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds',
  ]);
});

test('selectors are immutable on update (deployments, replicasets, daemonsets)', () => {
  for (const st of [deploymentStrategy, replicaSetStrategy, daemonSetStrategy]) {
    const old = workload();
    st.defaults(old);
    old.metadata.resourceVersion = '1';
    const upd = structuredClone(old);
    upd.spec.selector = { matchLabels: { app: 'web', tier: 'x' } };
    upd.spec.template.metadata.labels.tier = 'x';
    assert.deepEqual(s(st.validateUpdate(upd, old)), [
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"x"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    ]);
    const scaled = structuredClone(old);
    scaled.spec.template.spec.containers[0].image = 'nginx:2';
    assert.deepEqual(st.validateUpdate(scaled, old), []);
  }
});

test('replicasets', () => {
  const rs = workload();
  replicaSetStrategy.defaults(rs);
  assert.equal(rs.spec.replicas, 1);
  assert.deepEqual(replicaSetStrategy.validate(rs), []);
  const old = { ...rs, metadata: { ...rs.metadata, resourceVersion: '1' } };
  const st = { ...old, status: { replicas: 1, readyReplicas: 2, availableReplicas: 1 } };
  assert.deepEqual(s(replicaSetStrategy.validateStatusUpdate!(st, old)), [
    'status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas',
  ]);
  const st2 = { ...old, status: { replicas: 2, readyReplicas: 1, availableReplicas: 2 } };
  assert.deepEqual(s(replicaSetStrategy.validateStatusUpdate!(st2, old)), [
    'status.availableReplicas: Invalid value: 2: cannot be greater than readyReplicas',
  ]);
  assert.deepEqual(replicaSetStrategy.selectableFields(st), {
    'metadata.name': 'web',
    'metadata.namespace': 'default',
    'status.replicas': '1',
  });
});

test('daemonsets', () => {
  const ds = workload();
  daemonSetStrategy.defaults(ds);
  assert.deepEqual(ds.spec.updateStrategy, {
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
  });
  assert.equal(ds.spec.revisionHistoryLimit, 10);
  assert.deepEqual(daemonSetStrategy.validate(ds), []);
  assert.deepEqual(
    errs(
      daemonSetStrategy,
      workload({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } } }),
    ),
    [
      'spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:0, IntVal:1, StrVal:""}: may not be set when maxUnavailable is non-zero',
    ],
  );
  assert.deepEqual(errs(daemonSetStrategy, workload({ selector: {} })), [
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for daemonset',
  ]);
});

test('statefulsets', () => {
  const sts = workload({
    serviceName: 'web',
    volumeClaimTemplates: [
      {
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    ],
  });
  statefulSetStrategy.defaults(sts);
  assert.equal(sts.spec.podManagementPolicy, 'OrderedReady');
  assert.deepEqual(sts.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
  assert.deepEqual(sts.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
  assert.equal(sts.spec.volumeClaimTemplates[0].spec.volumeMode, 'Filesystem');
  assert.deepEqual(statefulSetStrategy.validate(sts), []);
  assert.deepEqual(errs(statefulSetStrategy, workload({ podManagementPolicy: 'Random' })), [
    "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'",
  ]);
  const old = { ...sts, metadata: { ...sts.metadata, resourceVersion: '1' } };
  const scaled = structuredClone(old);
  scaled.spec.replicas = 3;
  scaled.spec.template.spec.containers[0].image = 'nginx:2';
  assert.deepEqual(statefulSetStrategy.validateUpdate(scaled, old), []);
  const renamed = structuredClone(old);
  renamed.spec.serviceName = 'other';
  assert.deepEqual(s(statefulSetStrategy.validateUpdate(renamed, old)), [
    "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
  ]);
});
