import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../lib/kube/object.ts';
import { ConfigMaps, Namespaces } from '../../lib/kube/resources.ts';
import { ControllerFixture } from '../testing.ts';
import { DESCRIPTION, DESCRIPTION_ANNOTATION, NO_SOURCE_RETRY_MS, rootCaPublisher } from './index.ts';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const ns = (name: string, terminating = false): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, ...(terminating ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  status: { phase: terminating ? 'Terminating' : 'Active' },
});
const cm = (namespace: string, data: Record<string, string>, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'kube-root-ca.crt', namespace, ...(annotations ? { annotations } : {}) },
  data,
});

async function setup(namespaces: KubeObject[], configMaps: KubeObject[]) {
  const t = await ControllerFixture.of(rootCaPublisher);
  for (const n of namespaces) t.seed(Namespaces, n);
  for (const c of configMaps) t.seed(ConfigMaps, c);
  return t;
}

describe('root CA publisher', () => {
  it('publishes the CA of kube-system/kube-root-ca.crt into a namespace without it', async () => {
    const t = await setup([ns('kube-system'), ns('shop')], [cm('kube-system', { 'ca.crt': CA })]);
    await t.sync('shop');
    await t.sync('kube-system');
    t.expectWrites([
      {
        action: 'create configmaps shop/kube-root-ca.crt',
        body: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: 'kube-root-ca.crt',
            namespace: 'shop',
            annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION },
          },
          data: { 'ca.crt': CA },
        },
      },
    ]);
  });

  it('puts back edited content and keeps other metadata', async () => {
    const edited = cm(
      'shop',
      { 'ca.crt': 'tampered', extra: 'x' },
      { [DESCRIPTION_ANNOTATION]: DESCRIPTION, mine: 'keep' },
    );
    const t = await setup([ns('shop')], [cm('kube-system', { 'ca.crt': CA }), edited]);
    const stored = t.client.stored(ConfigMaps, 'shop', 'kube-root-ca.crt')!;
    await t.sync('shop');
    t.expectWrites([
      {
        action: 'update configmaps shop/kube-root-ca.crt',
        has: {
          // guarded by the resourceVersion read
          metadata: {
            resourceVersion: stored.metadata.resourceVersion,
            annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION, mine: 'keep' },
          },
          data: { 'ca.crt': CA },
        },
      },
    ]);
  });

  it('writes nothing when the copy is right, or the namespace is terminating', async () => {
    const t = await setup(
      [ns('a'), ns('b', true)],
      [cm('kube-system', { 'ca.crt': CA }), cm('a', { 'ca.crt': CA }, { [DESCRIPTION_ANNOTATION]: DESCRIPTION })],
    );
    await t.sync('a');
    await t.sync('b');
    t.expectWrites([]);
  });

  it('waits for the API server to publish the CA', async () => {
    const t = await setup([ns('a')], []);
    assert.deepEqual(await t.sync('a'), { requeueAfterMs: NO_SOURCE_RETRY_MS });
    t.expectWrites([]);
  });

  it('queues the namespace of a changed copy, and every namespace when the CA changes', async () => {
    const t = await setup([ns('kube-system'), ns('a'), ns('b')], [cm('a', { 'ca.crt': CA })]);
    assert.deepEqual(t.drain(), ['kube-system', 'a', 'b', 'a']);
    t.remove(ConfigMaps, cm('a', {}));
    t.seed(ConfigMaps, cm('kube-system', { 'ca.crt': CA }));
    assert.deepEqual(t.drain(), ['a', 'kube-system', 'a', 'b']);
    t.remove(Namespaces, ns('b'));
    assert.deepEqual(t.drain(), []);
  });
});
