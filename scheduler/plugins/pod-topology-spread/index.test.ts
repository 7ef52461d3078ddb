import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveProfile, schedulePod } from '../../algorithm.ts';
import { CycleState } from '../../framework/types.ts';
import { makeNode, makePod, snapshotOf } from '../../testing/objects.ts';
import { DEFAULT_PROFILE } from '../registry.ts';
import { podTopologySpread } from './index.ts';

const zoned = (name: string, zone: string) => makeNode(name, { labels: { 'topology.kubernetes.io/zone': zone } });

test("default spreading scores a controller's pods by their count per node and per zone, as kube-scheduler", () => {
  const snap = snapshotOf(
    [zoned('a', 'z1'), zoned('b', 'z1'), zoned('c', 'z2')],
    [
      makePod('r1', { owner: 'web', node: 'a' }),
      makePod('r2', { owner: 'web', node: 'a' }),
      makePod('r3', { owner: 'web', node: 'b' }),
      makePod('other', { node: 'c' }),
    ],
  );
  const pod = makePod('r4', { owner: 'web' });
  const state = new CycleState();
  const nodes = snap.nodes();
  assert.equal(podTopologySpread.preScore(state, pod, nodes, snap).code, 'Success');
  // hostname: count * log(3 + 2) + 2; zone: count * log(2 + 2) + 4
  const raw = nodes.map((n) => podTopologySpread.score(state, pod, n));
  const want = [
    2 * Math.log(5) + 2 + 3 * Math.log(4) + 4,
    1 * Math.log(5) + 2 + 3 * Math.log(4) + 4,
    0 + 2 + 0 + 4,
  ].map(Math.round);
  assert.deepEqual(raw, want);
  podTopologySpread.normalizeScores(state, pod, raw, nodes);
  assert.deepEqual(
    raw,
    want.map((s) => Math.trunc((100 * (want[0] + want[2] - s)) / want[0])),
  );
  assert.equal(raw[2], 100, 'the empty zone wins');
  assert.equal(podTopologySpread.preScore(new CycleState(), makePod('loner'), nodes, snap).code, 'Skip');
});

test('DoNotSchedule rejects a domain that would exceed maxSkew, and nodes without the key', () => {
  const snap = snapshotOf(
    [zoned('a', 'z1'), zoned('b', 'z2'), makeNode('bare')],
    [makePod('x1', { labels: { app: 'x' }, node: 'a' })],
  );
  const pod = makePod('x2', {
    labels: { app: 'x' },
    spec: {
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: 'topology.kubernetes.io/zone',
          whenUnsatisfiable: 'DoNotSchedule',
          labelSelector: { matchLabels: { app: 'x' } },
        },
      ],
    },
  });
  const state = new CycleState();
  podTopologySpread.preFilter(state, pod, snap);
  assert.deepEqual(podTopologySpread.filter(state, pod, snap.node('a')!), {
    code: 'Unschedulable',
    reasons: ["node(s) didn't match pod topology spread constraints"],
  });
  assert.equal(podTopologySpread.filter(state, pod, snap.node('b')!).code, 'Success');
  assert.deepEqual(podTopologySpread.filter(state, pod, snap.node('bare')!).reasons, [
    "node(s) didn't match pod topology spread constraints (missing required label)",
  ]);
  assert.equal(schedulePod(resolveProfile(DEFAULT_PROFILE), pod, snap, 0).node, 'b');
});
