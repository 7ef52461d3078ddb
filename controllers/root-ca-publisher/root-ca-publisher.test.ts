import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../../lib/kube/fake.ts';
import { InformerFactory } from '../../lib/kube/informer.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { ConfigMaps, Namespaces } from '../../lib/kube/resources.ts';
import { DESCRIPTION, DESCRIPTION_ANNOTATION, NO_SOURCE_RETRY_MS, RootCaReconciler } from './index.ts';

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

function setup(namespaces: KubeObject[], configMaps: KubeObject[]) {
  const client = new FakeClient();
  const informers = new InformerFactory(client);
  const cms = informers.informer(ConfigMaps, { fieldSelector: 'metadata.name=kube-root-ca.crt' });
  for (const n of namespaces) informers.informer(Namespaces).upsert(client.seed(Namespaces, n));
  for (const c of configMaps) cms.upsert(client.seed(ConfigMaps, c));
  informers.markAllSynced();
  const r = new RootCaReconciler(client, informers.informer(Namespaces), cms);
  return { client, cms, r };
}

describe('root CA publisher', () => {
  it('publishes the CA of kube-system/kube-root-ca.crt into a namespace without it', async () => {
    const t = setup([ns('kube-system'), ns('shop')], [cm('kube-system', { 'ca.crt': CA })]);
    await t.r.reconcile('shop');
    await t.r.reconcile('kube-system');
    const w = t.client.writes();
    assert.equal(w.length, 1);
    assert.equal(w[0].verb, 'create');
    assert.deepEqual(w[0].body.data, { 'ca.crt': CA });
    assert.equal(w[0].body.metadata.annotations[DESCRIPTION_ANNOTATION], DESCRIPTION);
    assert.equal(w[0].body.metadata.namespace, 'shop');
  });

  it('puts back edited content and keeps other metadata', async () => {
    const edited = cm(
      'shop',
      { 'ca.crt': 'tampered', extra: 'x' },
      { [DESCRIPTION_ANNOTATION]: DESCRIPTION, mine: 'keep' },
    );
    const t = setup([ns('shop')], [cm('kube-system', { 'ca.crt': CA }), edited]);
    await t.r.reconcile('shop');
    const [w] = t.client.writes();
    assert.equal(w.verb, 'update');
    assert.deepEqual(w.body.data, { 'ca.crt': CA });
    assert.equal(w.body.metadata.annotations.mine, 'keep');
    assert.ok(w.body.metadata.resourceVersion, 'the update is guarded by the resourceVersion read');
  });

  it('writes nothing when the copy is right, or the namespace is terminating', async () => {
    const t = setup(
      [ns('a'), ns('b', true)],
      [cm('kube-system', { 'ca.crt': CA }), cm('a', { 'ca.crt': CA }, { [DESCRIPTION_ANNOTATION]: DESCRIPTION })],
    );
    await t.r.reconcile('a');
    await t.r.reconcile('b');
    assert.deepEqual(t.client.writes(), []);
  });

  it('waits for the API server to publish the CA', async () => {
    const t = setup([ns('a')], []);
    assert.deepEqual(await t.r.reconcile('a'), { requeueAfterMs: NO_SOURCE_RETRY_MS });
    assert.deepEqual(t.client.writes(), []);
  });
});
