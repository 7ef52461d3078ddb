import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replicationControllerStrategy as st } from './replicationcontroller.ts';
import { fieldErrorString } from '../status-errors.ts';

function rc(spec: any = {}, metadata: any = {}): any {
  return {
    metadata: { name: 'web', namespace: 'default', ...metadata },
    spec: {
      template: {
        metadata: { labels: { app: 'web', tier: 'front' } },
        spec: { containers: [{ name: 'c', image: 'nginx' }] },
      },
      ...spec,
    },
  };
}
const errs = (obj: any) => {
  st.defaults(obj);
  return st.validate(obj).map(fieldErrorString);
};

test('a selector, labels and replicas left out come from the template and default to 1', () => {
  const o = rc();
  st.defaults(o);
  assert.deepEqual(o.spec.selector, { app: 'web', tier: 'front' });
  assert.deepEqual(o.metadata.labels, { app: 'web', tier: 'front' });
  assert.equal(o.spec.replicas, 1);
  assert.equal(o.spec.template.spec.restartPolicy, 'Always');
  assert.deepEqual(st.validate(o), []);
  // given ones are kept
  const own = rc({ selector: { app: 'web' }, replicas: 0 }, { labels: { team: 'a' } });
  st.defaults(own);
  assert.deepEqual(own.spec.selector, { app: 'web' });
  assert.deepEqual(own.metadata.labels, { team: 'a' });
  assert.equal(own.spec.replicas, 0);
});

test("is validated as Kubernetes' ValidateReplicationControllerSpec", () => {
  assert.deepEqual(errs(rc({ selector: { app: 'db' } })), [
    'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web", "tier":"front"}: `selector` does not match template `labels`',
  ]);
  assert.deepEqual(errs(rc({ template: undefined })), [
    'spec.selector: Required value',
    'spec.template: Required value',
  ]);
  assert.deepEqual(errs(rc({ replicas: -1, minReadySeconds: -2 })), [
    'spec.minReadySeconds: Invalid value: -2: must be greater than or equal to 0',
    'spec.replicas: Invalid value: -1: must be greater than or equal to 0',
  ]);
  const onFailure = rc();
  onFailure.spec.template.spec.restartPolicy = 'OnFailure';
  onFailure.spec.template.spec.activeDeadlineSeconds = 5;
  assert.deepEqual(errs(onFailure), [
    'spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"',
    'spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicationController is not Supported',
  ]);
});

test('the selector may change; status counts are bounded as a ReplicaSet', () => {
  const old = rc();
  st.defaults(old);
  const next = structuredClone(old);
  next.spec.selector = { app: 'web' };
  assert.deepEqual(st.validateUpdate(next, old), []);
  const bad = { ...old, status: { replicas: 1, readyReplicas: 2, availableReplicas: 2 } };
  assert.deepEqual(st.validateStatusUpdate!(bad, old).map(fieldErrorString), [
    'status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas',
    'status.availableReplicas: Invalid value: 2: cannot be greater than status.replicas',
  ]);
  assert.deepEqual(st.selectableFields({ ...old, status: { replicas: 3 } })['status.replicas'], '3');
});
