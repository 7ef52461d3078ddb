import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ApiError, type DeleteOptions } from '../../lib/kube/api.ts';
import { FakeClient } from '../../lib/kube/fake.ts';
import type { KubeObject, OwnerReference } from '../../lib/kube/object.ts';
import {
  ConfigMaps,
  Deployments,
  Events,
  Nodes,
  Pods,
  ReplicaSets,
  resourceForKind,
  type Resource,
} from '../../lib/kube/resources.ts';
import { ControllerFixture, summary } from '../testing.ts';
import { garbageCollector } from './index.ts';

/** a FakeClient that can change an object just before a delete reaches it */
class RacingClient extends FakeClient {
  beforeDelete: (() => Promise<void>) | undefined;
  override async delete(
    r: Resource,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<KubeObject> {
    const f = this.beforeDelete;
    this.beforeDelete = undefined;
    if (f) await f();
    return super.delete(r, namespace, name, opts);
  }
}

async function setup() {
  const client = new RacingClient();
  const t = await ControllerFixture.of(garbageCollector, { client });
  return Object.assign(t, {
    client,
    /** an object in the API and in the cache */
    put: (r: Resource, obj: KubeObject) => t.seed(r, obj),
    /** an object only in the cache (the API no longer has it, or not yet) */
    cacheOnly: (r: Resource, obj: KubeObject) => {
      const o = structuredClone(obj);
      o.metadata.uid ??= randomUUID();
      o.metadata.resourceVersion ??= '1';
      return t.cache(r, o);
    },
  });
}

/** a delete of the garbage collector: its policy, and the uid and resourceVersion it saw */
const collect = (obj: KubeObject, policy = 'Background') => ({
  action: `delete ${resourceForKind(obj.apiVersion!, obj.kind!)!.resource} ${obj.metadata.namespace}/${obj.metadata.name}`,
  body: {
    propagationPolicy: policy,
    preconditions: { uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion },
  },
});

/** the strategic merge patch dropping the references to these owners */
const dropOwners = (dep: KubeObject, ...owners: KubeObject[]) => ({
  metadata: {
    ownerReferences: owners.map((o) => ({ $patch: 'delete', uid: o.metadata.uid })),
    uid: dep.metadata.uid,
  },
});

const ref = (owner: KubeObject, extra: Partial<OwnerReference> = {}): OwnerReference => ({
  apiVersion: owner.apiVersion!,
  kind: owner.kind!,
  name: owner.metadata.name!,
  uid: owner.metadata.uid!,
  ...extra,
});

const cm = (
  name: string,
  owners: OwnerReference[] = [],
  ns = 'default',
  extra: Record<string, unknown> = {},
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, ownerReferences: owners.length ? owners : undefined, ...extra },
});

const gone = (name: string, kind = 'ConfigMap', apiVersion = 'v1'): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, uid: randomUUID() },
});

describe('garbage collector: background', () => {
  it('deletes the dependents of an owner that is gone, checking the owner once with the API server', async () => {
    const t = await setup();
    const owner = gone('owner');
    const a = t.put(ConfigMaps, cm('a', [ref(owner)]));
    const b = t.put(ConfigMaps, cm('b', [ref(owner)]));
    // the owner is in no cache: its uid is queued, and its reconcile queues the dependents
    assert.deepEqual(t.drain(), [owner.metadata.uid, owner.metadata.uid]);
    await t.sync(owner.metadata.uid!);
    assert.deepEqual(t.drain().sort(), [a.metadata.uid, b.metadata.uid].sort());
    t.expectWrites([]);

    await t.sync(a.metadata.uid!);
    await t.sync(b.metadata.uid!);
    // the owner was looked up once: the second dependent found it in the absent-owner cache
    assert.deepEqual(
      t
        .actions()
        .filter((x) => x.verb === 'get')
        .map(summary),
      ['get configmaps default/a', 'get configmaps default/owner', 'get configmaps default/b'],
    );
    t.expectWrites([collect(a), collect(b)]);
  });

  it('leaves a dependent whose owner is in the cache without asking the API server', async () => {
    const t = await setup();
    const owner = t.put(ConfigMaps, cm('owner'));
    const dep = t.put(ConfigMaps, cm('dep', [ref(owner)]));
    await t.sync(dep.metadata.uid!);
    await t.sync(owner.metadata.uid!);
    assert.deepEqual(t.actions(), []);
  });

  it('verifies with a live GET: an owner still in the cache but gone from the API, or recreated with another uid', async () => {
    const t = await setup();
    const stale = t.cacheOnly(ConfigMaps, cm('stale-owner'));
    const recreated = t.cacheOnly(ConfigMaps, cm('recreated'));
    t.api(ConfigMaps, cm('recreated')); // same name, new uid
    const dep1 = t.put(ConfigMaps, cm('dep1', [ref(stale)]));
    const dep2 = t.put(ConfigMaps, cm('dep2', [ref(recreated)]));
    // the owners are deleted as the watch sees it
    t.remove(ConfigMaps, stale);
    t.remove(ConfigMaps, recreated);
    assert.deepEqual(t.drain().sort(), [dep1.metadata.uid, dep2.metadata.uid].sort());
    await t.sync(dep1.metadata.uid!);
    await t.sync(dep2.metadata.uid!);
    t.expectWrites([collect(dep1), collect(dep2)]);
  });

  it('keeps a dependent with another owner alive and drops only the reference to the owner that is gone', async () => {
    const t = await setup();
    const alive = t.put(ConfigMaps, cm('alive'));
    const owner = gone('gone');
    const dep = t.put(ConfigMaps, cm('dep', [ref(owner), ref(alive)]));
    await t.sync(dep.metadata.uid!);
    t.expectWrites([{ action: 'patch configmaps default/dep', body: dropOwners(dep, owner), patchType: 'strategic' }]);
  });

  it('honours an orphan finalizer the dependent already has', async () => {
    const t = await setup();
    const owner = gone('owner');
    const dep = t.put(ConfigMaps, cm('dep', [ref(owner)], 'default', { finalizers: ['orphan'] }));
    await t.sync(dep.metadata.uid!);
    t.expectWrites([collect(dep, 'Orphan')]);
  });

  it('spares an object adopted between its check and its deletion, and retries on uid alone when only other fields changed', async () => {
    const t = await setup();
    const owner = gone('owner');
    const dep = t.put(ConfigMaps, cm('dep', [ref(owner)]));
    // a label changes just before the delete: the resourceVersion precondition fails, the owners are the same
    t.client.beforeDelete = async () => {
      const cur = t.client.stored(ConfigMaps, 'default', 'dep')!;
      await t.client.update(ConfigMaps, { ...cur, metadata: { ...cur.metadata, labels: { touched: 'yes' } } });
      t.client.failNext(
        'delete',
        new ApiError(409, 'Conflict', 'Precondition failed: ResourceVersion in precondition'),
      );
    };
    await t.sync(dep.metadata.uid!);
    t.expectWrites([
      'update configmaps default/dep', // the test's own change
      collect(dep),
      {
        action: 'delete configmaps default/dep',
        body: { propagationPolicy: 'Background', preconditions: { uid: dep.metadata.uid } },
      },
    ]);

    // adopted meanwhile (a new ownerReference): not deleted, tried again later
    const t2 = await setup();
    const dep2 = t2.put(ConfigMaps, cm('dep2', [ref(owner)]));
    const adopter = t2.put(ConfigMaps, cm('adopter'));
    t2.client.beforeDelete = async () => {
      const cur = t2.client.stored(ConfigMaps, 'default', 'dep2')!;
      await t2.client.update(ConfigMaps, {
        ...cur,
        metadata: { ...cur.metadata, ownerReferences: [ref(owner), ref(adopter)] },
      });
      t2.client.failNext('delete', new ApiError(409, 'Conflict', 'Precondition failed'));
    };
    await assert.rejects(t2.sync(dep2.metadata.uid!), /changed its ownerReferences/);
    t2.expectWrites(['update configmaps default/dep2', collect(dep2)]);
    assert.ok(t2.client.stored(ConfigMaps, 'default', 'dep2'));
  });

  it('reports an owner in another namespace as invalid, and collects the dependent', async () => {
    const t = await setup();
    const owner = t.put(ConfigMaps, cm('owner', [], 'other'));
    const dep = t.put(ConfigMaps, cm('dep', [ref(owner)], 'default'));
    assert.deepEqual(t.drain(), [dep.metadata.uid], 'the dependent is queued for a check');
    await t.sync(dep.metadata.uid!);
    t.expectWrites([collect(dep)]);
    assert.deepEqual(t.recorder.events, [
      {
        object: 'ConfigMap/default/dep',
        type: 'Warning',
        reason: 'OwnerRefInvalidNamespace',
        message: `ownerRef [v1/ConfigMap, namespace: default, name: owner, uid: ${owner.metadata.uid}] does not exist in namespace "default"`,
      },
    ]);
  });

  it('never collects a cluster-scoped object that names a namespaced owner, and says so', async () => {
    const t = await setup();
    const owner = gone('owner');
    const node = t.put(Nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1', ownerReferences: [ref(owner)] },
    });
    await t.sync(node.metadata.uid!);
    t.expectWrites([]);
    assert.deepEqual(
      t.recorder.events.map((e) => `${e.object} ${e.reason}`),
      ['Node/n1 OwnerRefInvalidNamespace'],
    );
    assert.match(t.recorder.events[0].message, /does not exist in namespace ""$/);
  });

  it('asks the API server by the name the reference gives: a wrong name makes the owner absent', async () => {
    const t = await setup();
    const owner = t.put(ConfigMaps, cm('owner'));
    const dep = t.put(ConfigMaps, cm('dep', [{ ...ref(owner), name: 'not-the-owner' }]));
    assert.deepEqual(t.drain(), [dep.metadata.uid]);
    await t.sync(dep.metadata.uid!);
    t.expectWrites([collect(dep)]);
  });

  it('leaves alone an object whose owner is of a kind it does not know', async () => {
    const t = await setup();
    const dep = t.put(
      ConfigMaps,
      cm('dep', [{ apiVersion: 'example.com/v1', kind: 'Widget', name: 'w', uid: randomUUID() }]),
    );
    await t.sync(dep.metadata.uid!);
    t.expectWrites([]);
  });
});

describe('garbage collector: foreground', () => {
  it('deletes the dependents, the ones with dependents of their own in the foreground, then removes the finalizer', async () => {
    const t = await setup();
    const deploy = t.put(Deployments, {
      metadata: {
        name: 'web',
        namespace: 'default',
        deletionTimestamp: '2024-01-01T00:00:00Z',
        finalizers: ['foregroundDeletion'],
      },
    });
    const rs = t.put(ReplicaSets, {
      metadata: {
        name: 'web-1',
        namespace: 'default',
        ownerReferences: [ref(deploy, { controller: true, blockOwnerDeletion: true })],
      },
    });
    const pod = t.put(Pods, {
      metadata: {
        name: 'web-1-a',
        namespace: 'default',
        ownerReferences: [ref(rs, { controller: true, blockOwnerDeletion: true })],
      },
    });
    const note = t.put(ConfigMaps, cm('note', [ref(deploy)]));
    assert.ok(t.drain().includes(deploy.metadata.uid!), 'an owner waiting for its dependents is queued');

    await t.sync(deploy.metadata.uid!);
    assert.deepEqual(t.drain().sort(), [rs.metadata.uid, note.metadata.uid].sort());
    t.expectWrites([]); // a blocking dependent remains: the finalizer stays

    await t.sync(rs.metadata.uid!);
    await t.sync(note.metadata.uid!);
    await t.sync(pod.metadata.uid!); // its owner is solid: nothing
    t.expectWrites([collect(rs, 'Foreground'), collect(note)]);

    // the ReplicaSet goes (as the API server would finish it): the Deployment is queued and finishes
    t.remove(ReplicaSets, rs);
    t.remove(ConfigMaps, note);
    assert.ok(t.drain().includes(deploy.metadata.uid!));
    await t.sync(deploy.metadata.uid!);
    t.expectWrites([
      {
        action: 'patch deployments default/web',
        body: { metadata: { finalizers: [], resourceVersion: deploy.metadata.resourceVersion } },
        patchType: 'merge',
      },
    ]);
  });

  it('does not wait for dependents without blockOwnerDeletion', async () => {
    const t = await setup();
    const owner = t.put(
      ConfigMaps,
      cm('owner', [], 'default', {
        deletionTimestamp: '2024-01-01T00:00:00Z',
        finalizers: ['foregroundDeletion', 'example.com/keep'],
      }),
    );
    const dep = t.put(ConfigMaps, cm('dep', [ref(owner)]));
    assert.deepEqual(
      t.drain(),
      [owner.metadata.uid, dep.metadata.uid],
      'a new dependent of an owner deleting in the foreground is queued',
    );
    await t.sync(owner.metadata.uid!);
    assert.deepEqual(t.drain(), [dep.metadata.uid]);
    t.expectWrites([
      {
        action: 'patch configmaps default/owner',
        body: { metadata: { finalizers: ['example.com/keep'], resourceVersion: owner.metadata.resourceVersion } },
      },
    ]);
  });

  it('drops the reference to a waiting owner from a dependent that has another, solid owner', async () => {
    const t = await setup();
    const owner = t.put(
      ConfigMaps,
      cm('owner', [], 'default', { deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['foregroundDeletion'] }),
    );
    const other = t.put(ConfigMaps, cm('other'));
    const dep = t.put(ConfigMaps, cm('dep', [ref(owner, { blockOwnerDeletion: true }), ref(other)]));
    await t.sync(dep.metadata.uid!);
    t.expectWrites([{ action: 'patch configmaps default/dep', body: dropOwners(dep, owner) }]);
    // the reference went (as the watch shows): the owner is queued again
    t.drain();
    t.cache(ConfigMaps, { ...dep, metadata: { ...dep.metadata, ownerReferences: [ref(other)] } });
    assert.deepEqual(t.drain(), [owner.metadata.uid]);
  });
});

describe('garbage collector: orphan', () => {
  it('removes the owner from its dependents, then the orphan finalizer', async () => {
    const t = await setup();
    const rs = t.put(ReplicaSets, { metadata: { name: 'web-1', namespace: 'default' } });
    const p1 = t.put(Pods, {
      metadata: {
        name: 'p1',
        namespace: 'default',
        ownerReferences: [ref(rs, { controller: true, blockOwnerDeletion: true })],
      },
    });
    const p2 = t.put(Pods, {
      metadata: {
        name: 'p2',
        namespace: 'default',
        ownerReferences: [ref(rs, { controller: true, blockOwnerDeletion: true })],
      },
    });
    t.drain();
    // the delete with propagationPolicy=Orphan arrives through the watch
    const deleting = t.seed(ReplicaSets, {
      ...rs,
      metadata: { ...rs.metadata, deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['orphan'] },
    });
    assert.deepEqual(t.drain(), [rs.metadata.uid]);

    await t.sync(rs.metadata.uid!);
    t.expectWrites([
      { action: 'patch pods default/p1', body: dropOwners(p1, rs), patchType: 'strategic' },
      { action: 'patch pods default/p2', body: dropOwners(p2, rs), patchType: 'strategic' },
      {
        action: 'patch replicasets default/web-1',
        body: { metadata: { finalizers: [], resourceVersion: deleting.metadata.resourceVersion } },
        patchType: 'merge',
      },
    ]);
  });

  it('keeps the finalizer when a dependent cannot be patched', async () => {
    const t = await setup();
    const owner = t.put(
      ConfigMaps,
      cm('owner', [], 'default', { deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['orphan'] }),
    );
    t.put(ConfigMaps, cm('dep', [ref(owner)]));
    t.client.failNext('patch');
    await assert.rejects(t.sync(owner.metadata.uid!), /could not orphan the dependents of configmaps default\/owner/);
    t.expectWrites(['patch configmaps default/dep']); // only the failed patch: the finalizer is not touched
  });
});

describe('garbage collector: definition', () => {
  it('watches the served resources but events, and queues uids from their events', async () => {
    const client = new FakeClient();
    // the first resource asked about (pods) is not served
    client.failNext('list', new ApiError(404, 'NotFound', 'the server could not find the requested resource'));
    const t = await ControllerFixture.of(garbageCollector, { client });
    assert.equal(garbageCollector.component, 'garbage-collector-controller');
    const watched = t.informers.made.map((m) => m.informer.resource);
    assert.ok(watched.includes(ReplicaSets) && watched.includes(ConfigMaps));
    assert.ok(!watched.includes(Events) && !watched.includes(Pods));
    assert.deepEqual(t.logs, ['pods is not served by the API server: not watched']);
    const owner = gone('owner');
    t.cache(ConfigMaps, { metadata: { name: 'd', namespace: 'default', uid: 'u1', ownerReferences: [ref(owner)] } });
    assert.deepEqual(t.drain(), [owner.metadata.uid]);
  });
});
