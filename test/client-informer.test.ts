/** lib/kube's Client and Informer against a real API server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSkiff } from './harness/skiff.ts';
import { Client } from '../lib/kube/client.ts';
import { Informer } from '../lib/kube/informer.ts';
import { ConfigMaps, Namespaces } from '../lib/kube/resources.ts';
import { isConflict, isNotFound } from '../lib/kube/api.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { eventually } from './harness/eventually.ts';

test('client and informer against a real API server', async (t) => {
  const skiff = await startSkiff({ command: 'apiserver' });
  t.after(async () => {
    await skiff.stop();
    skiff.cleanup();
  });
  const client = await Client.fromKubeconfig(skiff.kubeconfig);
  t.after(() => client.close());

  const ns = await client.list(Namespaces);
  assert.ok(ns.items.some((n) => n.metadata.name === 'kube-system'));

  const cm: KubeObject = await client.create(ConfigMaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'a', namespace: 'default' },
    data: { x: '1' },
  });
  assert.ok(cm.metadata.uid);
  await assert.rejects(client.update(ConfigMaps, { ...cm, metadata: { ...cm.metadata, resourceVersion: '1' } }), (e) =>
    isConflict(e),
  );
  await assert.rejects(client.get(ConfigMaps, 'default', 'nope'), (e) => isNotFound(e));

  const inf = new Informer(client, ConfigMaps, { pageSize: 2, namespace: 'default' });
  const seen: string[] = [];
  inf.addEventHandler({
    onAdd: (o) => seen.push(`add ${o.metadata.name}`),
    onUpdate: (_o, n) => seen.push(`update ${n.metadata.name} ${n.data?.x}`),
    onDelete: (o) => seen.push(`delete ${o.metadata.name}`),
  });
  for (const n of ['b', 'c']) await client.create(ConfigMaps, { metadata: { name: n, namespace: 'default' } });
  inf.start();
  t.after(() => inf.stop());
  await inf.waitForSync();
  assert.deepEqual(seen.sort(), ['add a', 'add b', 'add c']);
  assert.equal(inf.getByName('default', 'a')?.kind, 'ConfigMap', 'list items carry their kind');
  seen.length = 0;
  await client.patch(ConfigMaps, 'default', 'a', { data: { x: '2' } }, 'merge');
  await client.delete(ConfigMaps, 'default', 'b');
  await client.create(ConfigMaps, { metadata: { name: 'd', namespace: 'default' } });
  await eventually('the three changes seen', () => seen.length === 3, { everyMs: 20 });
  assert.deepEqual(seen, ['update a 2', 'delete b', 'add d']);
  assert.equal(inf.listNamespace('default').length, 3);
  assert.equal(inf.health().watching, true);
});
