import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeleteOptions } from '../../lib/kube/api.ts';
import { MemoryEventRecorder } from '../../lib/kube/events.ts';
import { FakeClient } from '../../lib/kube/fake.ts';
import { InformerFactory } from '../../lib/kube/informer.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { ConfigMaps, Deployments, Namespaces, Pods, type Resource } from '../../lib/kube/resources.ts';
import { DEFAULT_CONTROLLER_OPTIONS } from '../controller.ts';
import { updateConditions } from './conditions.ts';
import { NamespaceContentDeleter } from './content.ts';
import { NAMESPACED_RESOURCES, NamespaceReconciler, namespaceController } from './index.ts';

const NOW = new Date('2024-05-01T10:00:00Z');

/** a FakeClient whose deletes of some objects only mark them, as the API server does with finalizers or grace */
class MarkingClient extends FakeClient {
  readonly keep = new Set<string>();
  override async delete(
    r: Resource,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<KubeObject> {
    if (!this.keep.has(`${r.resource}/${name}`)) return super.delete(r, namespace, name, opts);
    this.actions.push({ verb: 'delete', resource: r.resource, namespace, name, body: opts });
    return this.stored(r, namespace, name)!;
  }
}

function setup(nsExtra: Partial<KubeObject['metadata']> = {}) {
  const client = new MarkingClient();
  const factory = new InformerFactory(client);
  const ns = client.seed(Namespaces, {
    metadata: { name: 'shop', deletionTimestamp: '2024-05-01T09:59:00Z', ...nsExtra },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Terminating' },
  });
  factory.informer(Namespaces).upsert(structuredClone(ns));
  factory.markAllSynced();
  const logs: string[] = [];
  const reconciler = new NamespaceReconciler(
    client,
    factory.informer(Namespaces),
    new NamespaceContentDeleter(client, NAMESPACED_RESOURCES),
    (m) => logs.push(m),
    () => NOW,
  );
  const nsNow = () => client.stored(Namespaces, undefined, 'shop');
  return { client, factory, reconciler, ns, nsNow, logs };
}

const cond = (o: KubeObject | undefined, type: string) => o?.status?.conditions?.find((c: any) => c.type === type);

describe('namespace controller', () => {
  it('deletes the content, reports what remains, waits, then finalizes', async () => {
    const t = setup();
    t.client.seed(ConfigMaps, { metadata: { name: 'a', namespace: 'shop' } });
    t.client.seed(Deployments, { metadata: { name: 'web', namespace: 'shop' } });
    t.client.seed(ConfigMaps, { metadata: { name: 'elsewhere', namespace: 'default' } });
    // two pods in their grace period, and an object held by a finalizer
    for (const name of ['p1', 'p2']) {
      t.client.seed(Pods, {
        metadata: {
          name,
          namespace: 'shop',
          deletionTimestamp: '2024-05-01T10:00:30Z',
          deletionGracePeriodSeconds: 30,
        },
        spec: { nodeName: 'n1', terminationGracePeriodSeconds: 30 },
        status: { phase: 'Running' },
      });
    }
    t.client.seed(ConfigMaps, { metadata: { name: 'held', namespace: 'shop', finalizers: ['example.com/hold'] } });
    t.client.keep.add('configmaps/held');

    const res = await t.reconciler.reconcile('shop');
    assert.deepEqual(res, { requeueAfterMs: 16_000 }, 'half the longest grace period, plus one second');
    const deletes = t.client.writes().filter((w) => w.verb === 'delete');
    assert.deepEqual(deletes.map((w) => `${w.resource}/${w.namespace}/${w.name}`).sort(), [
      'configmaps/shop/a',
      'configmaps/shop/held',
      'deployments/shop/web',
    ]);
    assert.ok(deletes.every((w) => w.body.propagationPolicy === 'Background'));
    assert.ok(t.client.stored(ConfigMaps, 'default', 'elsewhere'), 'other namespaces are untouched');
    const status = t.client.writes().filter((w) => w.verb === 'update');
    assert.equal(status.length, 1);
    assert.equal(status[0].subresource, 'status');
    assert.deepEqual(t.nsNow()!.status.conditions, [
      {
        type: 'NamespaceDeletionDiscoveryFailure',
        status: 'False',
        lastTransitionTime: '2024-05-01T10:00:00Z',
        reason: 'ResourcesDiscovered',
        message: 'All resources successfully discovered',
      },
      {
        type: 'NamespaceDeletionGroupVersionParsingFailure',
        status: 'False',
        lastTransitionTime: '2024-05-01T10:00:00Z',
        reason: 'ParsedGroupVersions',
        message: 'All legacy kube types successfully parsed',
      },
      {
        type: 'NamespaceDeletionContentFailure',
        status: 'False',
        lastTransitionTime: '2024-05-01T10:00:00Z',
        reason: 'ContentDeleted',
        message: 'All content successfully deleted, may be waiting on finalization',
      },
      {
        type: 'NamespaceContentRemaining',
        status: 'True',
        lastTransitionTime: '2024-05-01T10:00:00Z',
        reason: 'SomeResourcesRemain',
        message: 'Some resources are remaining: configmaps. has 1 resource instances, pods. has 2 resource instances',
      },
      {
        type: 'NamespaceFinalizersRemaining',
        status: 'True',
        lastTransitionTime: '2024-05-01T10:00:00Z',
        reason: 'SomeFinalizerRemain',
        message: 'Some finalizers are remaining: example.com/hold in 1 resource instances',
      },
    ]);
    assert.deepEqual(t.nsNow()!.spec.finalizers, ['kubernetes'], 'not finalized while content remains');

    // the pods finish and the finalizer is released: the next pass empties the namespace and finalizes it
    t.client.clearActions();
    for (const p of ['p1', 'p2']) await t.client.delete(Pods, 'shop', p);
    t.client.keep.delete('configmaps/held');
    await t.client.delete(ConfigMaps, 'shop', 'held');
    t.client.clearActions();
    assert.equal(await t.reconciler.reconcile('shop'), undefined);
    const writes = t.client.writes();
    assert.deepEqual(
      writes.map((w) => `${w.verb} ${w.resource}/${w.subresource}`),
      ['update namespaces/status', 'update namespaces/finalize'],
    );
    assert.deepEqual(writes[1].body.spec, { finalizers: [] });
    const conds = t.nsNow()!.status.conditions;
    assert.ok(conds.every((c: any) => c.status === 'False'));
    assert.equal(cond(t.nsNow(), 'NamespaceContentRemaining').message, 'All content successfully removed');
  });

  it('reports failed deletes in NamespaceDeletionContentFailure and retries with backoff', async () => {
    const t = setup();
    t.client.seed(ConfigMaps, { metadata: { name: 'a', namespace: 'shop' } });
    t.client.failNext('delete');
    await assert.rejects(
      t.reconciler.reconcile('shop'),
      /deleting the content of namespace shop failed: deleting \/v1, Resource=configmaps: a: injected failure/,
    );
    assert.deepEqual(cond(t.nsNow(), 'NamespaceDeletionContentFailure'), {
      type: 'NamespaceDeletionContentFailure',
      status: 'True',
      lastTransitionTime: '2024-05-01T10:00:00Z',
      reason: 'ContentDeletionFailed',
      message:
        'Failed to delete all resource types, 1 remaining: deleting /v1, Resource=configmaps: a: injected failure',
    });
    assert.deepEqual(t.nsNow()!.spec.finalizers, ['kubernetes']);
  });

  it('calls content that stays without finalizers or grace period unexpected', async () => {
    const t = setup();
    t.client.seed(ConfigMaps, { metadata: { name: 'stuck', namespace: 'shop' } });
    t.client.keep.add('configmaps/stuck');
    await assert.rejects(
      t.reconciler.reconcile('shop'),
      /unexpected items still remain in namespace: shop for gvr: \/v1, Resource=configmaps/,
    );
    assert.equal(
      cond(t.nsNow(), 'NamespaceContentRemaining').message,
      'Some resources are remaining: configmaps. has 1 resource instances',
    );
    assert.equal(cond(t.nsNow(), 'NamespaceDeletionContentFailure').status, 'True');
  });

  it('leaves alone a namespace that is not being deleted, and one already finalized', async () => {
    const t = setup({ deletionTimestamp: undefined });
    await t.reconciler.reconcile('shop');
    assert.deepEqual(t.client.actions, []);
    const t2 = setup();
    const cur = t2.nsNow()!;
    t2.client.seed(Namespaces, { ...cur, spec: { finalizers: [] } });
    t2.client.clearActions();
    await t2.reconciler.reconcile('shop');
    assert.deepEqual(
      t2.client.actions.map((a) => a.verb),
      ['get'],
    );
  });

  it('keeps other spec.finalizers when it finalizes', async () => {
    const t = setup();
    const cur = t.nsNow()!;
    t.client.seed(Namespaces, { ...cur, spec: { finalizers: ['kubernetes', 'example.com/z', 'example.com/a'] } });
    await t.reconciler.reconcile('shop');
    assert.deepEqual(t.nsNow()!.spec.finalizers, ['example.com/a', 'example.com/z']);
  });

  it('keeps lastTransitionTime while a condition keeps its status', () => {
    const report = { discoveryErrors: [], deleteErrors: [], remaining: new Map([['pods.', 2]]), finalizers: new Map() };
    const first = updateConditions(undefined, report, 't1');
    assert.equal(first.changed, true);
    const same = updateConditions(first.conditions, report, 't2');
    assert.equal(same.changed, false);
    const fewer = updateConditions(first.conditions, { ...report, remaining: new Map([['pods.', 1]]) }, 't3');
    const c = fewer.conditions.find((x) => x.type === 'NamespaceContentRemaining')!;
    assert.equal(c.lastTransitionTime, 't1');
    assert.equal(c.message, 'Some resources are remaining: pods. has 1 resource instances');
    const done = updateConditions(fewer.conditions, { ...report, remaining: new Map() }, 't4');
    assert.equal(done.conditions.find((x) => x.type === 'NamespaceContentRemaining')!.lastTransitionTime, 't4');
  });

  it('queues a terminating namespace, and again when its content goes away', async () => {
    const client = new FakeClient();
    const informers = new InformerFactory(client);
    const queued: string[] = [];
    await namespaceController.setup!({
      client,
      informers,
      recorder: new MemoryEventRecorder(),
      enqueue: (k) => queued.push(k),
      enqueueAfter: (k, ms) => queued.push(`${k} after ${ms} ms`),
      options: DEFAULT_CONTROLLER_OPTIONS,
      log: () => {},
      now: Date.now,
      served: async (c) => [...c],
    });
    assert.equal(namespaceController.name, 'namespace');
    assert.equal(namespaceController.component, 'namespace-controller');
    const nsInf = informers.informer(Namespaces);
    nsInf.upsert({ metadata: { name: 'live', uid: '1' } });
    nsInf.upsert({ metadata: { name: 'shop', uid: '2', deletionTimestamp: '2024-05-01T09:59:00Z' } });
    assert.deepEqual(queued, ['shop']);
    const pod = { metadata: { name: 'p', namespace: 'shop', uid: '3' } };
    informers.informer(Pods).upsert(pod);
    informers.informer(Pods).remove(pod);
    const other = { metadata: { name: 'q', namespace: 'live', uid: '4' } };
    informers.informer(Pods).upsert(other);
    informers.informer(Pods).remove(other);
    assert.deepEqual(queued, ['shop', 'shop after 500 ms']);
  });
});
