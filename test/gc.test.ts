/**
 * The garbage collector against a real API server: owners and dependents made by hand (ConfigMaps, a Deployment ->
 * ReplicaSet -> Pod chain), deleted with each propagation policy. The server runs without its own controllers and
 * scheduler; the collector runs here in a controller manager of its own.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { Client } from '../lib/kube/client.ts';
import { isNotFound } from '../lib/kube/api.ts';
import type { KubeObject, OwnerReference } from '../lib/kube/object.ts';
import {
  ConfigMaps,
  Deployments,
  Events,
  Namespaces,
  Pods,
  ReplicaSets,
  type Resource,
} from '../lib/kube/resources.ts';
import { ControllerManager } from '../controllers/manager.ts';
import { MemoryQueue } from '../lib/workqueue/memory.ts';
import { garbageCollector } from '../controllers/garbage-collector/index.ts';
import { eventually } from './harness/eventually.ts';

const NS = 'default';

const ref = (o: KubeObject, block = false): OwnerReference => ({
  apiVersion: o.apiVersion!,
  kind: o.kind!,
  name: o.metadata.name!,
  uid: o.metadata.uid!,
  ...(block ? { controller: true, blockOwnerDeletion: true } : {}),
});

describe('garbage collector against the API server', () => {
  let s: SkiffProcess;
  let client: Client;
  let manager: ControllerManager;
  /** the collector's queues (keys: uids), to see when it has done with an object */
  const queues: MemoryQueue[] = [];
  const settled = (uid: string) => queues.every((q) => q.len() === 0 && !q.isProcessing(uid));

  const get = (r: Resource, name: string) => client.get(r, NS, name);
  const absent = async (r: Resource, name: string) => {
    try {
      await get(r, name);
      return false;
    } catch (e) {
      if (isNotFound(e)) return true;
      throw e;
    }
  };
  const cm = (name: string, owners: OwnerReference[] = [], finalizers?: string[]) =>
    client.create<KubeObject>(ConfigMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: NS, ownerReferences: owners.length ? owners : undefined, finalizers },
    });

  before(async () => {
    s = await startSkiff({ args: ['--disable-controller-manager', '--disable-scheduler'] });
    client = await Client.fromKubeconfig(s.kubeconfig);
    manager = new ControllerManager({
      client,
      queues: (name) => {
        const q = new MemoryQueue(name);
        queues.push(q);
        return q;
      },
      definitions: [garbageCollector],
      log: () => {},
    });
    await manager.start();
  });
  after(async () => {
    await manager?.stop();
    client?.close();
    await s?.stop();
    s?.cleanup();
  });

  it('background: the dependents of a deleted owner are deleted, a dependent with another owner only loses the reference', async () => {
    const owner = await cm('bg-owner');
    const other = await cm('bg-other');
    await cm('bg-dep1', [ref(owner)]);
    await cm('bg-dep2', [ref(owner, true)]);
    await cm('bg-shared', [ref(owner), ref(other)]);
    await client.delete(ConfigMaps, NS, 'bg-owner'); // no policy: Background for ConfigMaps
    assert.ok(await absent(ConfigMaps, 'bg-owner'), 'Background deletes the owner at once');
    await eventually(
      'dependents deleted',
      async () => (await absent(ConfigMaps, 'bg-dep1')) && (await absent(ConfigMaps, 'bg-dep2')),
    );
    const shared = await eventually('reference dropped', async () => {
      const o = await get(ConfigMaps, 'bg-shared');
      return o.metadata.ownerReferences?.length === 1 && o;
    });
    assert.deepEqual(shared.metadata.ownerReferences, [ref(other)]);
  });

  it('background: an owner that never existed (or was recreated under another uid) leaves its dependents collectable', async () => {
    const impostor = await cm('bg-recreated');
    const dep = await cm('bg-dep-of-old', [
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'bg-recreated', uid: '00000000-0000-4000-8000-000000000001' },
    ]);
    await eventually('dependent of a missing owner deleted', () => absent(ConfigMaps, 'bg-dep-of-old'));
    assert.ok(dep.metadata.uid);
    assert.equal(
      (await get(ConfigMaps, 'bg-recreated')).metadata.uid,
      impostor.metadata.uid,
      'the owner of the same name is kept',
    );
  });

  it('foreground: the owner waits for its blocking dependents, then goes', async () => {
    const owner = await cm('fg-owner');
    await cm('fg-dep', [ref(owner, true)]);
    await cm('fg-held', [ref(owner, true)], ['example.com/hold']);
    await cm('fg-loose', [ref(owner)]);
    const marked = await client.delete(ConfigMaps, NS, 'fg-owner', { propagationPolicy: 'Foreground' });
    assert.ok(marked.metadata.deletionTimestamp);
    assert.deepEqual(marked.metadata.finalizers, ['foregroundDeletion']);
    await eventually(
      'plain dependents deleted',
      async () => (await absent(ConfigMaps, 'fg-dep')) && (await absent(ConfigMaps, 'fg-loose')),
    );
    const held = await eventually('held dependent marked', async () => {
      const o = await get(ConfigMaps, 'fg-held');
      return o.metadata.deletionTimestamp ? o : undefined;
    });
    assert.deepEqual(held.metadata.finalizers, ['example.com/hold']);
    // still blocked by the held dependent, once the collector has done with the owner
    await eventually('the collector has done with the owner', () => settled(owner.metadata.uid!));
    assert.deepEqual((await get(ConfigMaps, 'fg-owner')).metadata.finalizers, ['foregroundDeletion']);
    // its finalizer released, the dependent goes, then the owner
    await client.patch(ConfigMaps, NS, 'fg-held', { metadata: { finalizers: null } }, 'merge');
    await eventually('owner deleted', () => absent(ConfigMaps, 'fg-owner'));
    assert.ok(await absent(ConfigMaps, 'fg-held'));
  });

  it('orphan: the dependents lose their reference and stay, the owner goes', async () => {
    const owner = await cm('or-owner');
    const other = await cm('or-other');
    await cm('or-dep1', [ref(owner, true)]);
    await cm('or-dep2', [ref(owner), ref(other)]);
    const marked = await client.delete(ConfigMaps, NS, 'or-owner', { propagationPolicy: 'Orphan' });
    assert.deepEqual(marked.metadata.finalizers, ['orphan']);
    await eventually('owner deleted', () => absent(ConfigMaps, 'or-owner'));
    assert.deepEqual((await get(ConfigMaps, 'or-dep1')).metadata.ownerReferences ?? [], []);
    assert.deepEqual((await get(ConfigMaps, 'or-dep2')).metadata.ownerReferences, [ref(other)]);
  });

  const chain = async (name: string) => {
    const labels = { app: name };
    const template = { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.local/app:1' }] } };
    const deploy = await client.create(Deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: NS },
      spec: { replicas: 1, selector: { matchLabels: labels }, template },
    });
    const rs = await client.create(ReplicaSets, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: `${name}-1`, namespace: NS, labels, ownerReferences: [ref(deploy, true)] },
      spec: { replicas: 1, selector: { matchLabels: labels }, template },
    });
    await client.create(Pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${name}-1-a`, namespace: NS, labels, ownerReferences: [ref(rs, true)] },
      spec: template.spec,
    });
  };

  it('deleting a Deployment (Background, as kubectl does) removes its ReplicaSets and their pods through the chain', async () => {
    await chain('web');
    await client.delete(Deployments, NS, 'web', { propagationPolicy: 'Background' });
    await eventually(
      'ReplicaSet and pod deleted',
      async () => (await absent(ReplicaSets, 'web-1')) && (await absent(Pods, 'web-1-a')),
    );
  });

  it('deleting a Deployment in the foreground removes the pod, then the ReplicaSet, then the Deployment', async () => {
    await chain('api');
    await client.delete(Deployments, NS, 'api', { propagationPolicy: 'Foreground' });
    await eventually(
      'whole chain deleted',
      async () =>
        (await absent(Deployments, 'api')) && (await absent(ReplicaSets, 'api-1')) && (await absent(Pods, 'api-1-a')),
    );
  });

  it('reports an owner reference to another namespace with a warning event', async () => {
    await client.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gc-other' } });
    const owner = await cm('ns-owner');
    await client.create(ConfigMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'ns-dep', namespace: 'gc-other', ownerReferences: [ref(owner)] },
    });
    await eventually('dependent in the other namespace deleted', async () => {
      try {
        await client.get(ConfigMaps, 'gc-other', 'ns-dep');
        return false;
      } catch (e) {
        return isNotFound(e);
      }
    });
    const ev = await eventually('OwnerRefInvalidNamespace event', async () => {
      const list = await client.list(Events, { namespace: 'gc-other' });
      return list.items.find(
        (e: any) => e.reason === 'OwnerRefInvalidNamespace' && e.involvedObject?.name === 'ns-dep',
      );
    });
    assert.equal(ev.type, 'Warning');
    assert.equal(ev.source?.component, 'garbage-collector-controller');
    assert.match(
      ev.message ?? '',
      /^ownerRef \[v1\/ConfigMap, namespace: gc-other, name: ns-owner, uid: [0-9a-f-]+\] does not exist in namespace "gc-other"$/,
    );
  });
});
