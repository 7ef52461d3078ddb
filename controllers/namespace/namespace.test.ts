import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeleteOptions } from '../../lib/kube/api.ts';
import { FakeClient } from '../../lib/kube/fake.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { ConfigMaps, Deployments, Events, Namespaces, Pods, type Resource } from '../../lib/kube/resources.ts';
import { ControllerFixture, exactly, summary } from '../testing.ts';
import { updateConditions } from './conditions.ts';
import { namespaceController } from './index.ts';

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

async function setup(nsExtra: Partial<KubeObject['metadata']> = {}) {
  const client = new MarkingClient();
  const t = await ControllerFixture.of(namespaceController, { client, clock: NOW.getTime() });
  t.seed(Namespaces, {
    metadata: { name: 'shop', deletionTimestamp: '2024-05-01T09:59:00Z', ...nsExtra },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Terminating' },
  });
  const nsNow = () => client.stored(Namespaces, undefined, 'shop');
  return { t, client, nsNow };
}

const cond = (o: KubeObject | undefined, type: string) => o?.status?.conditions?.find((c: any) => c.type === type);

describe('namespace controller', () => {
  it('deletes the content, reports what remains, waits, then finalizes', async () => {
    const { t, client, nsNow } = await setup();
    client.seed(ConfigMaps, { metadata: { name: 'a', namespace: 'shop' } });
    client.seed(Deployments, { metadata: { name: 'web', namespace: 'shop' } });
    client.seed(ConfigMaps, { metadata: { name: 'elsewhere', namespace: 'default' } });
    // two pods in their grace period, and an object held by a finalizer
    for (const name of ['p1', 'p2']) {
      client.seed(Pods, {
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
    client.seed(ConfigMaps, { metadata: { name: 'held', namespace: 'shop', finalizers: ['example.com/hold'] } });
    client.keep.add('configmaps/held');

    const res = await t.sync('shop');
    assert.deepEqual(res, { requeueAfterMs: 16_000 }, 'half the longest grace period, plus one second');
    // every resource at once, each deleting what it lists; the pods are on their way already
    const background = { propagationPolicy: 'Background' };
    t.expectWrites([
      { action: 'delete configmaps shop/a', body: background },
      { action: 'delete configmaps shop/held', body: background },
      { action: 'delete deployments shop/web', body: background },
      'update namespaces/status shop',
    ]);
    assert.ok(client.stored(ConfigMaps, 'default', 'elsewhere'), 'other namespaces are untouched');
    assert.deepEqual(nsNow()!.status.conditions, [
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
    assert.deepEqual(nsNow()!.spec.finalizers, ['kubernetes'], 'not finalized while content remains');

    // the pods finish and the finalizer is released: the next pass empties the namespace and finalizes it
    for (const p of ['p1', 'p2']) await client.delete(Pods, 'shop', p);
    client.keep.delete('configmaps/held');
    await client.delete(ConfigMaps, 'shop', 'held');
    client.clearActions();
    assert.equal(await t.sync('shop'), undefined);
    t.expectWrites([
      'update namespaces/status shop',
      { action: 'update namespaces/finalize shop', has: { spec: exactly({ finalizers: [] }) } },
    ]);
    const conds = nsNow()!.status.conditions;
    assert.ok(conds.every((c: any) => c.status === 'False'));
    assert.equal(cond(nsNow(), 'NamespaceContentRemaining').message, 'All content successfully removed');
  });

  it('reports failed deletes in NamespaceDeletionContentFailure and retries with backoff', async () => {
    const { t, client, nsNow } = await setup();
    client.seed(ConfigMaps, { metadata: { name: 'a', namespace: 'shop' } });
    client.failNext('delete');
    await assert.rejects(
      t.sync('shop'),
      /deleting the content of namespace shop failed: deleting \/v1, Resource=configmaps: a: injected failure/,
    );
    t.expectWrites(['delete configmaps shop/a', 'update namespaces/status shop']);
    assert.deepEqual(cond(nsNow(), 'NamespaceDeletionContentFailure'), {
      type: 'NamespaceDeletionContentFailure',
      status: 'True',
      lastTransitionTime: '2024-05-01T10:00:00Z',
      reason: 'ContentDeletionFailed',
      message:
        'Failed to delete all resource types, 1 remaining: deleting /v1, Resource=configmaps: a: injected failure',
    });
    assert.deepEqual(nsNow()!.spec.finalizers, ['kubernetes']);
  });

  it('calls content that stays without finalizers or grace period unexpected', async () => {
    const { t, client, nsNow } = await setup();
    client.seed(ConfigMaps, { metadata: { name: 'stuck', namespace: 'shop' } });
    client.keep.add('configmaps/stuck');
    await assert.rejects(
      t.sync('shop'),
      /unexpected items still remain in namespace: shop for gvr: \/v1, Resource=configmaps/,
    );
    t.expectWrites(['delete configmaps shop/stuck', 'update namespaces/status shop']);
    assert.equal(
      cond(nsNow(), 'NamespaceContentRemaining').message,
      'Some resources are remaining: configmaps. has 1 resource instances',
    );
    assert.equal(cond(nsNow(), 'NamespaceDeletionContentFailure').status, 'True');
  });

  it('leaves alone a namespace that is not being deleted, and one already finalized', async () => {
    const { t } = await setup({ deletionTimestamp: undefined });
    await t.sync('shop');
    assert.deepEqual(t.actions(), [], 'not even a read');
    const second = await setup();
    const cur = second.nsNow()!;
    second.client.seed(Namespaces, { ...cur, spec: { finalizers: [] } });
    second.client.clearActions();
    await second.t.sync('shop');
    assert.deepEqual(second.t.actions().map(summary), ['get namespaces shop']);
  });

  it('keeps other spec.finalizers when it finalizes', async () => {
    const { t, client, nsNow } = await setup();
    client.seed(Namespaces, { ...nsNow()!, spec: { finalizers: ['kubernetes', 'example.com/z', 'example.com/a'] } });
    await t.sync('shop');
    t.expectWrites([
      'update namespaces/status shop',
      { action: 'update namespaces/finalize shop', has: { spec: { finalizers: ['example.com/a', 'example.com/z'] } } },
    ]);
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
    const t = await ControllerFixture.of(namespaceController);
    assert.equal(namespaceController.component, 'namespace-controller');
    t.cache(Namespaces, { metadata: { name: 'live', uid: '1' } });
    t.cache(Namespaces, { metadata: { name: 'shop', uid: '2', deletionTimestamp: '2024-05-01T09:59:00Z' } });
    assert.deepEqual(t.drain(), ['shop']);
    const pod = { metadata: { name: 'p', namespace: 'shop', uid: '3' } };
    t.cache(Pods, pod);
    t.remove(Pods, pod);
    const other = { metadata: { name: 'q', namespace: 'live', uid: '4' } };
    t.cache(Pods, other);
    t.remove(Pods, other);
    const event = { metadata: { name: 'e', namespace: 'shop', uid: '5' } };
    t.cache(Events, event);
    t.remove(Events, event);
    assert.deepEqual(t.drain(), ['shop after 500 ms'], 'a deletion in a terminating namespace; events do not count');
  });
});
