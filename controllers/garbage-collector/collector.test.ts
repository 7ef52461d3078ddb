import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ApiError, type DeleteOptions } from '../../lib/kube/api.ts';
import { MemoryEventRecorder } from '../../lib/kube/events.ts';
import { FakeClient } from '../../lib/kube/fake.ts';
import { InformerFactory } from '../../lib/kube/informer.ts';
import type { KubeObject, OwnerReference } from '../../lib/kube/object.ts';
import { ConfigMaps, Deployments, Nodes, Pods, ReplicaSets, type Resource } from '../../lib/kube/resources.ts';
import { GarbageCollector } from './collector.ts';
import { OwnershipGraph } from './graph.ts';
import { graphHandlers } from './handlers.ts';
import { GC_RESOURCES, garbageCollector } from './index.ts';

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

function setup() {
  const client = new RacingClient();
  const factory = new InformerFactory(client);
  const graph = new OwnershipGraph(factory, GC_RESOURCES);
  const queued: string[] = [];
  const enqueue = (uid: string) => queued.push(uid);
  for (const inf of graph.informers) inf.addEventHandler(graphHandlers(graph, enqueue));
  const recorder = new MemoryEventRecorder();
  const logs: string[] = [];
  const gc = new GarbageCollector({ client, graph, recorder, enqueue, log: (m) => logs.push(m) });
  factory.markAllSynced();
  /** an object in the API and in the cache */
  const put = (r: Resource, obj: KubeObject): KubeObject => {
    const stored = client.seed(r, obj);
    factory.informer(r).upsert(structuredClone(stored));
    return stored;
  };
  /** an object only in the cache (the API no longer has it, or not yet) */
  const cacheOnly = (r: Resource, obj: KubeObject): KubeObject => {
    const o = { apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind, ...structuredClone(obj) };
    o.metadata.uid ??= randomUUID();
    o.metadata.resourceVersion ??= '1';
    factory.informer(r).upsert(o);
    return o;
  };
  const drain = () => queued.splice(0);
  return { client, factory, graph, gc, queued, drain, recorder, logs, put, cacheOnly };
}

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
    const t = setup();
    const owner = gone('owner');
    const a = t.put(ConfigMaps, cm('a', [ref(owner)]));
    const b = t.put(ConfigMaps, cm('b', [ref(owner)]));
    // the owner is in no cache: its uid is queued, and its reconcile queues the dependents
    assert.deepEqual(t.drain(), [owner.metadata.uid, owner.metadata.uid]);
    await t.gc.reconcile(owner.metadata.uid!);
    assert.deepEqual(t.drain().sort(), [a.metadata.uid, b.metadata.uid].sort());
    assert.equal(t.client.writes().length, 0);

    await t.gc.reconcile(a.metadata.uid!);
    await t.gc.reconcile(b.metadata.uid!);
    assert.deepEqual(t.client.writes(), [
      {
        verb: 'delete',
        resource: 'configmaps',
        namespace: 'default',
        name: 'a',
        body: {
          propagationPolicy: 'Background',
          preconditions: { uid: a.metadata.uid, resourceVersion: a.metadata.resourceVersion },
        },
      },
      {
        verb: 'delete',
        resource: 'configmaps',
        namespace: 'default',
        name: 'b',
        body: {
          propagationPolicy: 'Background',
          preconditions: { uid: b.metadata.uid, resourceVersion: b.metadata.resourceVersion },
        },
      },
    ]);
    // the owner was looked up once: the second dependent found it in the absent-owner cache
    const ownerGets = t.client.actions.filter((x) => x.verb === 'get' && x.name === 'owner');
    assert.equal(ownerGets.length, 1);
  });

  it('leaves a dependent whose owner is in the cache without asking the API server', async () => {
    const t = setup();
    const owner = t.put(ConfigMaps, cm('owner'));
    const dep = t.put(ConfigMaps, cm('dep', [ref(owner)]));
    t.client.clearActions();
    await t.gc.reconcile(dep.metadata.uid!);
    await t.gc.reconcile(owner.metadata.uid!);
    assert.deepEqual(t.client.actions, []);
  });

  it('verifies with a live GET: an owner still in the cache but gone from the API, or recreated with another uid', async () => {
    const t = setup();
    const stale = t.cacheOnly(ConfigMaps, cm('stale-owner'));
    const recreated = t.cacheOnly(ConfigMaps, cm('recreated'));
    t.client.seed(ConfigMaps, cm('recreated')); // same name, new uid
    const dep1 = t.put(ConfigMaps, cm('dep1', [ref(stale)]));
    const dep2 = t.put(ConfigMaps, cm('dep2', [ref(recreated)]));
    // the owners are deleted as the watch sees it
    t.factory.informer(ConfigMaps).remove(stale);
    t.factory.informer(ConfigMaps).remove(recreated);
    assert.deepEqual(t.drain().sort(), [dep1.metadata.uid, dep2.metadata.uid].sort());
    await t.gc.reconcile(dep1.metadata.uid!);
    await t.gc.reconcile(dep2.metadata.uid!);
    assert.deepEqual(
      t.client.writes().map((w) => `${w.verb} ${w.name} ${w.body.propagationPolicy}`),
      ['delete dep1 Background', 'delete dep2 Background'],
    );
  });

  it('keeps a dependent with another owner alive and drops only the reference to the owner that is gone', async () => {
    const t = setup();
    const alive = t.put(ConfigMaps, cm('alive'));
    const owner = gone('gone');
    const dep = t.put(ConfigMaps, cm('dep', [ref(owner), ref(alive)]));
    await t.gc.reconcile(dep.metadata.uid!);
    assert.deepEqual(t.client.writes(), [
      {
        verb: 'patch',
        resource: 'configmaps',
        subresource: undefined,
        namespace: 'default',
        name: 'dep',
        patchType: 'strategic',
        body: { metadata: { ownerReferences: [{ $patch: 'delete', uid: owner.metadata.uid }], uid: dep.metadata.uid } },
      },
    ]);
  });

  it('honours an orphan finalizer the dependent already has', async () => {
    const t = setup();
    const owner = gone('owner');
    const dep = t.put(ConfigMaps, cm('dep', [ref(owner)], 'default', { finalizers: ['orphan'] }));
    await t.gc.reconcile(dep.metadata.uid!);
    assert.equal(t.client.writes()[0].body.propagationPolicy, 'Orphan');
  });

  it('spares an object adopted between its check and its deletion, and retries on uid alone when only other fields changed', async () => {
    const t = setup();
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
    await t.gc.reconcile(dep.metadata.uid!);
    const deletes = t.client.writes().filter((w) => w.verb === 'delete');
    assert.equal(deletes.length, 2);
    assert.deepEqual(deletes[1].body, { propagationPolicy: 'Background', preconditions: { uid: dep.metadata.uid } });

    // adopted meanwhile (a new ownerReference): not deleted, tried again later
    const t2 = setup();
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
    await assert.rejects(t2.gc.reconcile(dep2.metadata.uid!), /changed its ownerReferences/);
    assert.ok(t2.client.stored(ConfigMaps, 'default', 'dep2'));
  });

  it('reports an owner in another namespace as invalid, and collects the dependent', async () => {
    const t = setup();
    const owner = t.put(ConfigMaps, cm('owner', [], 'other'));
    const dep = t.put(ConfigMaps, cm('dep', [ref(owner)], 'default'));
    assert.ok(t.drain().includes(dep.metadata.uid!), 'the dependent is queued for a check');
    await t.gc.reconcile(dep.metadata.uid!);
    assert.deepEqual(
      t.client.writes().map((w) => `${w.verb} ${w.namespace}/${w.name}`),
      ['delete default/dep'],
    );
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
    const t = setup();
    const owner = gone('owner');
    const node = t.put(Nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1', ownerReferences: [ref(owner)] },
    });
    await t.gc.reconcile(node.metadata.uid!);
    assert.deepEqual(t.client.writes(), []);
    assert.equal(t.recorder.events[0].reason, 'OwnerRefInvalidNamespace');
    assert.match(t.recorder.events[0].message, /does not exist in namespace ""$/);
  });

  it('asks the API server by the name the reference gives: a wrong name makes the owner absent', async () => {
    const t = setup();
    const owner = t.put(ConfigMaps, cm('owner'));
    const dep = t.put(ConfigMaps, cm('dep', [{ ...ref(owner), name: 'not-the-owner' }]));
    assert.ok(t.drain().includes(dep.metadata.uid!));
    await t.gc.reconcile(dep.metadata.uid!);
    assert.deepEqual(
      t.client.writes().map((w) => `${w.verb} ${w.name}`),
      ['delete dep'],
    );
  });

  it('leaves alone an object whose owner is of a kind it does not know', async () => {
    const t = setup();
    const dep = t.put(
      ConfigMaps,
      cm('dep', [{ apiVersion: 'example.com/v1', kind: 'Widget', name: 'w', uid: randomUUID() }]),
    );
    await t.gc.reconcile(dep.metadata.uid!);
    assert.deepEqual(t.client.writes(), []);
  });
});

describe('garbage collector: foreground', () => {
  it('deletes the dependents, the ones with dependents of their own in the foreground, then removes the finalizer', async () => {
    const t = setup();
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

    await t.gc.reconcile(deploy.metadata.uid!);
    assert.deepEqual(t.drain().sort(), [rs.metadata.uid, note.metadata.uid].sort());
    assert.deepEqual(t.client.writes(), [], 'a blocking dependent remains: the finalizer stays');

    await t.gc.reconcile(rs.metadata.uid!);
    await t.gc.reconcile(note.metadata.uid!);
    await t.gc.reconcile(pod.metadata.uid!); // its owner is solid: nothing
    assert.deepEqual(t.client.writes(), [
      {
        verb: 'delete',
        resource: 'replicasets',
        namespace: 'default',
        name: 'web-1',
        body: {
          propagationPolicy: 'Foreground',
          preconditions: { uid: rs.metadata.uid, resourceVersion: rs.metadata.resourceVersion },
        },
      },
      {
        verb: 'delete',
        resource: 'configmaps',
        namespace: 'default',
        name: 'note',
        body: {
          propagationPolicy: 'Background',
          preconditions: { uid: note.metadata.uid, resourceVersion: note.metadata.resourceVersion },
        },
      },
    ]);

    // the ReplicaSet goes (as the API server would finish it): the Deployment is queued and finishes
    t.client.clearActions();
    t.factory.informer(ReplicaSets).remove(rs);
    t.factory.informer(ConfigMaps).remove(note);
    assert.ok(t.drain().includes(deploy.metadata.uid!));
    await t.gc.reconcile(deploy.metadata.uid!);
    assert.deepEqual(t.client.writes(), [
      {
        verb: 'patch',
        resource: 'deployments',
        subresource: undefined,
        namespace: 'default',
        name: 'web',
        patchType: 'merge',
        body: { metadata: { finalizers: [], resourceVersion: deploy.metadata.resourceVersion } },
      },
    ]);
  });

  it('does not wait for dependents without blockOwnerDeletion', async () => {
    const t = setup();
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
    await t.gc.reconcile(owner.metadata.uid!);
    assert.deepEqual(t.drain(), [dep.metadata.uid]);
    assert.deepEqual(
      t.client.writes().map((w) => w.body),
      [{ metadata: { finalizers: ['example.com/keep'], resourceVersion: owner.metadata.resourceVersion } }],
    );
  });

  it('drops the reference to a waiting owner from a dependent that has another, solid owner', async () => {
    const t = setup();
    const owner = t.put(
      ConfigMaps,
      cm('owner', [], 'default', { deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['foregroundDeletion'] }),
    );
    const other = t.put(ConfigMaps, cm('other'));
    const dep = t.put(ConfigMaps, cm('dep', [ref(owner, { blockOwnerDeletion: true }), ref(other)]));
    await t.gc.reconcile(dep.metadata.uid!);
    assert.deepEqual(
      t.client.writes().map((w) => w.body),
      [{ metadata: { ownerReferences: [{ $patch: 'delete', uid: owner.metadata.uid }], uid: dep.metadata.uid } }],
    );
    // the reference went (as the watch shows): the owner is queued again
    t.drain();
    t.factory.informer(ConfigMaps).upsert({ ...dep, metadata: { ...dep.metadata, ownerReferences: [ref(other)] } });
    assert.deepEqual(t.drain(), [owner.metadata.uid]);
  });
});

describe('garbage collector: orphan', () => {
  it('removes the owner from its dependents, then the orphan finalizer', async () => {
    const t = setup();
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
    const deleting = t.client.seed(ReplicaSets, {
      ...rs,
      metadata: { ...rs.metadata, deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['orphan'] },
    });
    t.factory.informer(ReplicaSets).upsert(structuredClone(deleting));
    assert.deepEqual(t.drain(), [rs.metadata.uid]);
    t.client.clearActions();

    await t.gc.reconcile(rs.metadata.uid!);
    const writes = t.client.writes();
    assert.deepEqual(
      writes
        .slice(0, 2)
        .map((w) => [w.verb, w.name, w.patchType, w.body])
        .sort(),
      [
        [
          'patch',
          'p1',
          'strategic',
          { metadata: { ownerReferences: [{ $patch: 'delete', uid: rs.metadata.uid }], uid: p1.metadata.uid } },
        ],
        [
          'patch',
          'p2',
          'strategic',
          { metadata: { ownerReferences: [{ $patch: 'delete', uid: rs.metadata.uid }], uid: p2.metadata.uid } },
        ],
      ],
    );
    assert.deepEqual(writes[2], {
      verb: 'patch',
      resource: 'replicasets',
      subresource: undefined,
      namespace: 'default',
      name: 'web-1',
      patchType: 'merge',
      body: { metadata: { finalizers: [], resourceVersion: deleting.metadata.resourceVersion } },
    });
    assert.equal(writes.length, 3);
  });

  it('keeps the finalizer when a dependent cannot be patched', async () => {
    const t = setup();
    const owner = t.put(
      ConfigMaps,
      cm('owner', [], 'default', { deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['orphan'] }),
    );
    t.put(ConfigMaps, cm('dep', [ref(owner)]));
    t.client.failNext('patch');
    await assert.rejects(
      t.gc.reconcile(owner.metadata.uid!),
      /could not orphan the dependents of configmaps default\/owner/,
    );
    assert.equal(t.client.writes().length, 1, 'only the failed patch: the finalizer is not touched');
  });
});

describe('garbage collector: definition', () => {
  it('watches the served resources but events, and queues uids from their events', async () => {
    const client = new FakeClient();
    const informers = new InformerFactory(client);
    const queued: string[] = [];
    const reconciler = await garbageCollector.setup!({
      client,
      informers,
      recorder: new MemoryEventRecorder(),
      enqueue: (k) => queued.push(k),
      enqueueAfter: () => {},
      options: {
        clusterCIDR: '10.244.0.0/16',
        nodeCIDRMaskSize: 24,
        nodeMonitorGracePeriodMs: 40_000,
        nodeMonitorPeriodMs: 5_000,
        workers: 5,
      },
      log: () => {},
      now: Date.now,
      served: async (c) => [...c],
    });
    assert.ok(reconciler);
    assert.equal(garbageCollector.name, 'garbage-collector');
    assert.equal(garbageCollector.component, 'garbage-collector-controller');
    const listed = new Set(client.actions.filter((a) => a.verb === 'list').map((a) => a.resource));
    assert.ok(listed.has('pods') && listed.has('replicasets') && !listed.has('events'));
    const owner = gone('owner');
    informers.informer(ConfigMaps).upsert({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'd', namespace: 'default', uid: 'u1', ownerReferences: [ref(owner)] },
    });
    assert.deepEqual(queued, [owner.metadata.uid]);
  });
});
