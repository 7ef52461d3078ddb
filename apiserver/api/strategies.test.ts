import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STRATEGIES } from './strategies.ts';
import { RESOURCES } from './registry.ts';
import { fieldErrorString } from './status-errors.ts';

const podSpec = { containers: [{ name: 'c', image: 'nginx' }] };
const tmpl = { metadata: { labels: { app: 'a' } }, spec: podSpec };
const sel = { matchLabels: { app: 'a' } };
const now = '2024-01-01T00:00:00.000000Z';

/** a minimal valid object of each type, as a client would send it */
const SAMPLES: Record<string, any> = {
  '/namespaces': {},
  '/pods': { spec: podSpec },
  '/nodes': { spec: {} },
  '/services': { spec: { selector: { app: 'a' }, ports: [{ port: 80 }] } },
  '/endpoints': { subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }] },
  '/configmaps': { data: { a: 'b' } },
  '/secrets': { data: { a: 'Yg==' } },
  '/serviceaccounts': {},
  '/events': {
    involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' },
    reason: 'Started',
    message: 'm',
    type: 'Normal',
  },
  'apps/deployments': { spec: { selector: sel, template: tmpl } },
  'apps/replicasets': { spec: { selector: sel, template: tmpl } },
  'apps/daemonsets': { spec: { selector: sel, template: tmpl } },
  'apps/statefulsets': { spec: { selector: sel, template: tmpl, serviceName: 's' } },
  'apps/controllerrevisions': { revision: 1, data: {} },
  'coordination.k8s.io/leases': { spec: { holderIdentity: 'me', leaseDurationSeconds: 15 } },
  'discovery.k8s.io/endpointslices': {
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.0.0.1'] }],
    ports: [{ port: 80 }],
  },
  'events.k8s.io/events': {
    eventTime: now,
    reportingController: 'skiff/test',
    reportingInstance: 'x',
    action: 'Create',
    reason: 'Created',
    regarding: { namespace: 'default' },
    type: 'Normal',
  },
  'autoscaling/horizontalpodautoscalers': {
    spec: { scaleTargetRef: { kind: 'Deployment', name: 'd' }, maxReplicas: 3 },
  },
  'batch/jobs': { spec: { template: { spec: { ...podSpec, restartPolicy: 'Never' } } } },
  'batch/cronjobs': {
    spec: {
      schedule: '@hourly',
      jobTemplate: { spec: { template: { spec: { ...podSpec, restartPolicy: 'Never' } } } },
    },
  },
};

test('every served resource has a strategy, plus autoscaling and batch', () => {
  for (const r of RESOURCES) assert.ok(STRATEGIES[`${r.group}/${r.resource}`], `${r.group}/${r.resource}`);
  for (const k of ['autoscaling/horizontalpodautoscalers', 'batch/jobs', 'batch/cronjobs']) assert.ok(STRATEGIES[k], k);
});

test('a minimal object of every type defaults and validates cleanly, and survives a no-op update', () => {
  for (const [key, sample] of Object.entries(SAMPLES)) {
    const st = STRATEGIES[key];
    const namespaced = RESOURCES.find((r) => `${r.group}/${r.resource}` === key)?.namespaced ?? true;
    const obj = {
      metadata: { name: 'x', uid: 'u1', creationTimestamp: now, ...(namespaced ? { namespace: 'default' } : {}) },
      ...structuredClone(sample),
    };
    st.defaults(obj);
    assert.deepEqual(st.validate(obj).map(fieldErrorString), [], key);
    const old = structuredClone(obj);
    old.metadata.resourceVersion = '10';
    const again = structuredClone(old);
    st.defaults(again);
    assert.deepEqual(again, old, `${key}: defaulting is idempotent`);
    assert.deepEqual(st.validateUpdate(again, old).map(fieldErrorString), [], `${key} update`);
    if (st.validateStatusUpdate)
      assert.deepEqual(st.validateStatusUpdate(again, old).map(fieldErrorString), [], `${key} status`);
  }
});

test('selectable fields: metadata.name always, metadata.namespace for namespaced types, every key present on an empty object', () => {
  for (const r of RESOURCES) {
    const f = STRATEGIES[`${r.group}/${r.resource}`].selectableFields({ metadata: {}, spec: {}, status: {} });
    assert.equal(f['metadata.name'], '');
    assert.equal('metadata.namespace' in f, r.namespaced, r.resource);
    for (const v of Object.values(f)) assert.equal(typeof v, 'string');
  }
  assert.deepEqual(Object.keys(STRATEGIES['/pods'].selectableFields({})).sort(), [
    'metadata.name',
    'metadata.namespace',
    'spec.hostNetwork',
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'status.nominatedNodeName',
    'status.phase',
    'status.podIP',
  ]);
});
