import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveProfile, runFilters, schedulePod } from '../../algorithm.ts';
import { SUCCESS } from '../../framework/types.ts';
import { makeNode, makePod, snapshotOf } from '../../testing/objects.ts';
import { DEFAULT_PROFILE } from '../registry.ts';
import { defaultPreemption } from './index.ts';

const profile = resolveProfile(DEFAULT_PROFILE);

function run(
  nodes: ReturnType<typeof makeNode>[],
  pods: ReturnType<typeof makePod>[],
  pod: ReturnType<typeof makePod>,
) {
  const snap = snapshotOf(nodes, pods);
  const d = schedulePod(profile, pod, snap, 0);
  assert.equal(d.node, undefined, 'the pod fits nowhere');
  return defaultPreemption.postFilter(
    d.state,
    pod,
    snap,
    d.statuses!,
    (p, n) => runFilters(profile, d.state, p, n) ?? SUCCESS,
  );
}

test('equal priorities: no victims; unresolvable rejections: not helpful', () => {
  const nodes = [
    makeNode('a', { cpu: '1' }),
    makeNode('b', { cpu: '1' }),
    makeNode('t', { taints: [{ key: 'x', effect: 'NoSchedule' }] }),
  ];
  const pods = [makePod('x', { cpu: '800m', node: 'a' }), makePod('y', { cpu: '800m', node: 'b' })];
  const r = run(nodes, pods, makePod('p', { cpu: '500m' }));
  assert.deepEqual(r.status.reasons, [
    'preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod',
  ]);
  assert.equal(r.nominatedNodeName, undefined);
});

test('a higher-priority pod evicts the fewest, least important pods on the best node', () => {
  const nodes = [makeNode('a', { cpu: '1' }), makeNode('b', { cpu: '1' })];
  const pods = [
    makePod('a-low', { cpu: '400m', node: 'a', priority: 1 }),
    makePod('a-lower', { cpu: '400m', node: 'a', priority: 0 }),
    makePod('b-mid', { cpu: '800m', node: 'b', priority: 5 }),
  ];
  const r = run(nodes, pods, makePod('p', { cpu: '500m', priority: 10 }));
  assert.equal(r.status.code, 'Success');
  assert.equal(r.nominatedNodeName, 'a', 'the highest victim priority on a (0) is lower than on b (5)');
  assert.deepEqual(
    r.victims!.map((v) => v.metadata.name),
    ['a-lower'],
    'a-low is given back: removing a-lower alone makes room',
  );
});

test('preemptionPolicy Never is not eligible', () => {
  const r = run(
    [makeNode('a', { cpu: '1' })],
    [makePod('x', { cpu: '1', node: 'a' })],
    makePod('p', { cpu: '500m', priority: 10, spec: { preemptionPolicy: 'Never' } }),
  );
  assert.deepEqual(r.status.reasons, ['preemption: not eligible due to preemptionPolicy=Never.']);
});
