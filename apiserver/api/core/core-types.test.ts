import { test } from 'node:test';
import assert from 'node:assert/strict';
import { namespaceStrategy } from './namespace.ts';
import { configMapStrategy, secretStrategy } from './configmap.ts';
import { nodeStrategy } from './node.ts';
import { coreEventStrategy, endpointsStrategy } from './misc.ts';
import { fieldErrorString } from '../status-errors.ts';

const s = (errs: any[]) => errs.map(fieldErrorString);

test('namespaces', () => {
  const ns: any = { metadata: { name: 'team-a', uid: 'u' } };
  namespaceStrategy.defaults(ns);
  assert.deepEqual(ns.spec, { finalizers: ['kubernetes'] });
  assert.deepEqual(ns.status, { phase: 'Active' });
  assert.deepEqual(ns.metadata.labels, { 'kubernetes.io/metadata.name': 'team-a' });
  assert.deepEqual(namespaceStrategy.validate(ns), []);
  assert.match(
    s(namespaceStrategy.validate({ metadata: { name: 'a.b' } }))[0],
    /^metadata\.name: Invalid value: "a\.b": a lowercase RFC 1123 label/,
  );
  assert.deepEqual(s(namespaceStrategy.validate({ metadata: { name: 'x' }, spec: { finalizers: ['custom'] } })), [
    'spec.finalizers: Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified',
  ]);
  const old = { ...structuredClone(ns), metadata: { ...ns.metadata, resourceVersion: '1' } };
  const term = structuredClone(old);
  term.status.phase = 'Terminating';
  assert.deepEqual(s(namespaceStrategy.validateStatusUpdate!(term, old)), [
    'status.Phase: Invalid value: "Terminating": may only be \'Active\' if `deletionTimestamp` is empty',
  ]);
  assert.deepEqual(namespaceStrategy.selectableFields(ns), {
    'metadata.name': 'team-a',
    'status.phase': 'Active',
    name: 'team-a',
  });
});

test('configmaps', () => {
  const cm = (extra: any) => ({ metadata: { name: 'c', namespace: 'd' }, ...extra });
  assert.deepEqual(configMapStrategy.validate(cm({ data: { 'a.txt': 'x' } })), []);
  assert.match(
    s(configMapStrategy.validate(cm({ data: { 'a b': 'x' } })))[0],
    /^data\[a b\]: Invalid value: "a b": a valid config key must consist of alphanumeric characters/,
  );
  assert.deepEqual(s(configMapStrategy.validate(cm({ data: { k: 'x' }, binaryData: { k: 'eA==' } }))), [
    'data[k]: Invalid value: "k": duplicate of key present in binaryData',
    'binaryData[k]: Invalid value: "k": duplicate of key present in data',
  ]);
  assert.deepEqual(s(configMapStrategy.validate(cm({ data: { k: 'x'.repeat(1024 * 1024 + 1) } }))), [
    'Too long: may not be more than 1048576 bytes',
  ]);
  const old = cm({ data: { k: 'v' }, immutable: true });
  assert.deepEqual(s(configMapStrategy.validateUpdate(cm({ data: { k: 'w' }, immutable: true }), old)), [
    'data: Forbidden: field is immutable when `immutable` is set',
  ]);
  assert.deepEqual(s(configMapStrategy.validateUpdate(cm({ data: { k: 'v' } }), old)), [
    'immutable: Forbidden: field is immutable when `immutable` is set',
  ]);
});

test('secrets', () => {
  const sec: any = { metadata: { name: 's', namespace: 'd' }, stringData: { password: 'hunter2' } };
  secretStrategy.defaults(sec);
  assert.equal(sec.type, 'Opaque');
  assert.deepEqual(sec.data, { password: Buffer.from('hunter2').toString('base64') });
  assert.equal(sec.stringData, undefined);
  assert.deepEqual(secretStrategy.validate(sec), []);
  assert.deepEqual(
    s(secretStrategy.validate({ metadata: { name: 's', namespace: 'd' }, type: 'kubernetes.io/tls', data: {} })),
    ['data[tls.crt]: Required value', 'data[tls.key]: Required value'],
  );
  assert.deepEqual(
    s(
      secretStrategy.validate({ metadata: { name: 's', namespace: 'd' }, type: 'kubernetes.io/service-account-token' }),
    ),
    ['metadata.annotations[kubernetes.io/service-account.name]: Required value'],
  );
  const old = { ...sec, metadata: { ...sec.metadata, resourceVersion: '2' } };
  assert.deepEqual(
    s(
      secretStrategy.validateUpdate({ ...old, type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } }, old),
    ),
    ['type: Invalid value: "kubernetes.io/tls": field is immutable'],
  );
  assert.deepEqual(secretStrategy.selectableFields(sec), {
    'metadata.name': 's',
    'metadata.namespace': 'd',
    type: 'Opaque',
  });
});

test('nodes', () => {
  const node: any = {
    metadata: { name: 'n1' },
    spec: { podCIDR: '10.244.1.0/24' },
    status: { capacity: { cpu: '2', memory: '4096Mi' } },
  };
  nodeStrategy.defaults(node);
  assert.deepEqual(node.spec.podCIDRs, ['10.244.1.0/24']);
  assert.deepEqual(node.status.allocatable, { cpu: '2', memory: '4Gi' });
  assert.deepEqual(nodeStrategy.validate(node), []);
  assert.deepEqual(s(nodeStrategy.validate({ metadata: { name: 'n', namespace: 'x' } })), [
    'metadata.namespace: Forbidden: not allowed on this type',
  ]);
  assert.deepEqual(
    s(
      nodeStrategy.validate({
        metadata: { name: 'n' },
        spec: {
          taints: [
            { key: 'a', effect: 'NoSchedule' },
            { key: 'a', effect: 'NoSchedule' },
            { key: 'b', effect: 'Never' },
          ],
        },
      }),
    ),
    [
      'spec.taints[1]: Duplicate value: core.Taint{Key:"a", Value:"", Effect:"NoSchedule", TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair',
      'spec.taints[2].effect: Unsupported value: "Never": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
    ],
  );
  const old = { ...node, metadata: { name: 'n1', resourceVersion: '1' } };
  const moved = structuredClone(old);
  moved.spec.podCIDRs = ['10.244.2.0/24'];
  moved.spec.podCIDR = '10.244.2.0/24';
  assert.deepEqual(s(nodeStrategy.validateUpdate(moved, old)), [
    'spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid',
  ]);
  assert.deepEqual(nodeStrategy.selectableFields({ metadata: { name: 'n1' }, spec: { unschedulable: true } }), {
    'metadata.name': 'n1',
    'spec.unschedulable': 'true',
  });
});

test('core events and endpoints', () => {
  assert.deepEqual(
    s(coreEventStrategy.validate({ metadata: { name: 'e.1', namespace: 'a' }, involvedObject: { namespace: 'b' } })),
    ['involvedObject.namespace: Invalid value: "b": does not match event.namespace'],
  );
  const f = coreEventStrategy.selectableFields({
    metadata: { name: 'e', namespace: 'a' },
    involvedObject: { kind: 'Pod', name: 'p' },
    source: { component: 'kubelet' },
    type: 'Normal',
  });
  assert.equal(f['involvedObject.kind'], 'Pod');
  assert.equal(f.source, 'kubelet');
  assert.deepEqual(
    s(
      endpointsStrategy.validate({
        metadata: { name: 'e', namespace: 'a' },
        subsets: [{ addresses: [{ ip: 'x' }], ports: [{ port: 80, protocol: 'TCP' }] }],
      }),
    ),
    ['subsets[0].addresses[0].ip: Invalid value: "x": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
  );
});

test('docker config secrets: malformed contents are refused in Go words, never quoted', () => {
  const docker = (text: string) => ({
    metadata: { name: 'd', namespace: 'default' },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(text).toString('base64') },
  });
  const errs = (text: string) => secretStrategy.validate(docker(text)).map(fieldErrorString);
  const secret = '{"auths":{"r.io":{"password":hunter2}}}';
  assert.deepEqual(errs(secret), [
    `data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": invalid character 'h' looking for beginning of value`,
  ]);
  assert.ok(!errs(secret)[0].includes('hunter2'));
  assert.deepEqual(errs('[1]'), [
    'data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": json: cannot unmarshal array into Go value of type map[string]interface {}',
  ]);
  assert.deepEqual(errs('{"auths":{}}'), []);
});
