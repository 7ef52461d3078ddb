import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryEventRecorder } from '../../lib/kube/events.ts';
import { FakeClient } from '../../lib/kube/fake.ts';
import { InformerFactory } from '../../lib/kube/informer.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { Nodes } from '../../lib/kube/resources.ts';
import { CidrSet } from './cidr-set.ts';
import { FULL_RETRY_MS, NodeIpamReconciler } from './index.ts';

const node = (name: string, podCIDR?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {},
});

function setup(nodes: KubeObject[], clusterCIDR = '10.244.0.0/16', mask = 24) {
  const client = new FakeClient();
  const informers = new InformerFactory(client);
  for (const n of nodes) informers.informer(Nodes).upsert(client.seed(Nodes, n));
  informers.markAllSynced();
  const recorder = new MemoryEventRecorder();
  const queued: string[] = [];
  const r = new NodeIpamReconciler(
    client,
    informers.informer(Nodes),
    () => new CidrSet(clusterCIDR, mask),
    recorder,
    () => {},
    (n) => queued.push(n),
  );
  const patched = () => client.writes().map((a) => `${a.name} ${a.body.spec.podCIDR}`);
  return { client, informers, recorder, r, patched, queued };
}

describe('node IPAM', () => {
  it('skips ranges of existing nodes and gives the next free ones in order', async () => {
    const t = setup([node('a'), node('old', '10.244.0.0/24'), node('b'), node('old2', '10.244.2.0/24')]);
    await t.r.reconcile('a');
    await t.r.reconcile('b');
    await t.r.reconcile('old');
    assert.deepEqual(t.patched(), ['a 10.244.1.0/24', 'b 10.244.3.0/24']);
    assert.equal(t.client.writes()[0].patchType, 'merge');
    assert.deepEqual(t.client.writes()[0].body, { spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] } });
  });

  it('releases the range of a deleted node and reuses it after the others', async () => {
    const t = setup([node('a'), node('b'), node('c')], '10.0.0.0/22', 24);
    for (const n of ['a', 'b', 'c']) await t.r.reconcile(n);
    t.informers.informer(Nodes).remove(node('a'));
    await t.r.reconcile('a');
    t.informers.informer(Nodes).upsert(t.client.seed(Nodes, node('d')));
    t.informers.informer(Nodes).upsert(t.client.seed(Nodes, node('e')));
    await t.r.reconcile('d');
    await t.r.reconcile('e');
    assert.deepEqual(t.patched(), [
      'a 10.0.0.0/24',
      'b 10.0.1.0/24',
      'c 10.0.2.0/24',
      'd 10.0.3.0/24',
      'e 10.0.0.0/24',
    ]);
  });

  it('records CIDRNotAvailable when the cluster range is full', async () => {
    const t = setup([node('a', '10.0.0.0/24'), node('b', '10.0.1.0/24'), node('c')], '10.0.0.0/23', 24);
    const res = await t.r.reconcile('c');
    assert.deepEqual(res, { requeueAfterMs: FULL_RETRY_MS });
    assert.deepEqual(t.client.writes(), []);
    assert.deepEqual(t.recorder.events, [
      {
        object: 'Node/c',
        type: 'Normal',
        reason: 'CIDRNotAvailable',
        message: 'Node c status is now: CIDRNotAvailable',
      },
    ]);
  });

  it('releases the range when the patch fails and gives the retry a range', async () => {
    const t = setup([node('a')]);
    t.client.failNext('patch');
    await assert.rejects(t.r.reconcile('a'), /injected/);
    await t.r.reconcile('a');
    assert.deepEqual(t.patched(), ['a 10.244.0.0/24', 'a 10.244.1.0/24']);
    // the failed range is free again: it comes back once the others are used
    const set = new CidrSet('10.0.0.0/23', 24);
    const first = set.allocate()!;
    set.release(first);
    assert.equal(set.allocate(), '10.0.1.0/24');
    assert.equal(set.allocate(), first);
    assert.equal(set.allocate(), undefined);
  });
});

describe('node IPAM taking over from another controller manager', () => {
  it('rebuilds its table from a fresh list, so a range the cache does not show yet is not given twice', async () => {
    const t = setup([node('a'), node('b')]);
    await t.r.reconcile('a'); // this manager gives a 10.244.0.0/24 ...
    // ... then another manager held the Lease and gave 10.244.1.0/24 to c, which this cache has not seen
    t.client.seed(Nodes, node('c', '10.244.1.0/24'));
    await t.r.onStartedLeading();
    assert.deepEqual(t.queued, ['b'], 'every node still without a range is looked at again');
    await t.r.reconcile('b');
    assert.deepEqual(t.patched(), ['a 10.244.0.0/24', 'b 10.244.2.0/24']);
  });
});

describe('CidrSet', () => {
  it('rejects a mask smaller than the cluster prefix', () => {
    assert.throws(() => new CidrSet('10.244.0.0/16', 8), /mask size 8 does not fit/);
  });
});
