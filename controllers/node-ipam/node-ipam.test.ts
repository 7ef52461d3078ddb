import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../lib/kube/object.ts';
import { Nodes } from '../../lib/kube/resources.ts';
import { ControllerFixture } from '../testing.ts';
import { CidrSet } from './cidr-set.ts';
import { FULL_RETRY_MS, nodeIpamController } from './index.ts';

const node = (name: string, podCIDR?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {},
});

async function setup(nodes: KubeObject[], clusterCIDR = '10.244.0.0/16', nodeCIDRMaskSize = 24) {
  const t = await ControllerFixture.of(nodeIpamController, { options: { clusterCIDR, nodeCIDRMaskSize } });
  for (const n of nodes) t.seed(Nodes, n);
  return t;
}

/** the merge patch giving a node its range */
const given = (name: string, cidr: string) => ({
  action: `patch nodes ${name}`,
  body: { spec: { podCIDR: cidr, podCIDRs: [cidr] } },
  patchType: 'merge' as const,
});

describe('node IPAM', () => {
  it('skips ranges of existing nodes and gives the next free ones in order', async () => {
    const t = await setup([node('a'), node('old', '10.244.0.0/24'), node('b'), node('old2', '10.244.2.0/24')]);
    await t.sync('a');
    await t.sync('b');
    await t.sync('old');
    t.expectWrites([given('a', '10.244.1.0/24'), given('b', '10.244.3.0/24')]);
  });

  it('releases the range of a deleted node and reuses it after the others', async () => {
    const t = await setup([node('a'), node('b'), node('c')], '10.0.0.0/22', 24);
    for (const n of ['a', 'b', 'c']) await t.sync(n);
    t.remove(Nodes, node('a'));
    await t.sync('a');
    t.seed(Nodes, node('d'));
    t.seed(Nodes, node('e'));
    await t.sync('d');
    await t.sync('e');
    t.expectWrites([
      given('a', '10.0.0.0/24'),
      given('b', '10.0.1.0/24'),
      given('c', '10.0.2.0/24'),
      given('d', '10.0.3.0/24'),
      given('e', '10.0.0.0/24'),
    ]);
  });

  it('records CIDRNotAvailable when the cluster range is full', async () => {
    const t = await setup([node('a', '10.0.0.0/24'), node('b', '10.0.1.0/24'), node('c')], '10.0.0.0/23', 24);
    const res = await t.sync('c');
    assert.deepEqual(res, { requeueAfterMs: FULL_RETRY_MS });
    t.expectWrites([]);
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
    const t = await setup([node('a')]);
    t.client.failNext('patch');
    await assert.rejects(t.sync('a'), /injected/);
    await t.sync('a');
    t.expectWrites([given('a', '10.244.0.0/24'), given('a', '10.244.1.0/24')]);
    // the failed range is free again: it comes back once the others are used
    const set = new CidrSet('10.0.0.0/23', 24);
    const first = set.allocate()!;
    set.release(first);
    assert.equal(set.allocate(), '10.0.1.0/24');
    assert.equal(set.allocate(), first);
    assert.equal(set.allocate(), undefined);
  });

  it('queues a node that comes, goes, or changes its range, not one that keeps it', async () => {
    const t = await setup([node('a'), node('b', '10.244.0.0/24')]);
    assert.deepEqual(t.drain(), ['a', 'b']);
    t.cache(Nodes, { ...node('b', '10.244.0.0/24'), metadata: { name: 'b', labels: { x: 'y' } } });
    t.cache(Nodes, { ...node('a'), metadata: { name: 'a', labels: { x: 'y' } } });
    t.cache(Nodes, node('b', '10.244.9.0/24'));
    t.remove(Nodes, node('b'));
    assert.deepEqual(t.drain(), ['a', 'b', 'b']);
  });
});

describe('node IPAM taking over from another controller manager', () => {
  it('rebuilds its table from a fresh list, so a range the cache does not show yet is not given twice', async () => {
    const t = await setup([node('a'), node('b')]);
    await t.sync('a'); // this manager gives a 10.244.0.0/24 ...
    // ... then another manager held the Lease and gave 10.244.1.0/24 to c, which this cache has not seen
    t.api(Nodes, node('c', '10.244.1.0/24'));
    t.drain();
    await t.reconciler.onStartedLeading();
    assert.deepEqual(t.drain(), ['b'], 'every node still without a range is looked at again');
    await t.sync('b');
    t.expectWrites([given('a', '10.244.0.0/24'), given('b', '10.244.2.0/24')]);
  });
});

describe('CidrSet', () => {
  it('rejects a mask smaller than the cluster prefix', () => {
    assert.throws(() => new CidrSet('10.244.0.0/16', 8), /mask size 8 does not fit/);
  });
});
