import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CycleState } from '../../framework/types.ts';
import { makeNode, makePod, nodeInfo, snapshotOf } from '../../testing/objects.ts';
import { taintToleration } from './index.ts';

const state = new CycleState();
const controlPlane = makeNode('cp', {
  taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
});

test('an untolerated NoSchedule or NoExecute taint rejects the node with the taint in the message', () => {
  assert.deepEqual(taintToleration.filter(state, makePod('p'), nodeInfo(controlPlane)), {
    code: 'UnschedulableAndUnresolvable',
    reasons: ['node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }'],
  });
  const db = nodeInfo(makeNode('db', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }] }));
  assert.deepEqual(taintToleration.filter(state, makePod('p'), db).reasons, [
    'node(s) had untolerated taint {dedicated: db}',
  ]);
  const equal = makePod('p', {
    spec: { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoExecute' }] },
  });
  assert.equal(taintToleration.filter(state, equal, db).code, 'Success');
  const wrongValue = makePod('p', { spec: { tolerations: [{ key: 'dedicated', value: 'web' }] } });
  assert.equal(taintToleration.filter(state, wrongValue, db).code, 'UnschedulableAndUnresolvable');
  const everything = makePod('p', { spec: { tolerations: [{ operator: 'Exists' }] } });
  assert.equal(taintToleration.filter(state, everything, db).code, 'Success');
  const prefer = nodeInfo(makeNode('soft', { taints: [{ key: 'spot', effect: 'PreferNoSchedule' }] }));
  assert.equal(taintToleration.filter(state, makePod('p'), prefer).code, 'Success');
});

test('fewer untolerated PreferNoSchedule taints score higher', () => {
  const nodes = [
    nodeInfo(makeNode('clean')),
    nodeInfo(makeNode('one', { taints: [{ key: 'spot', effect: 'PreferNoSchedule' }] })),
    nodeInfo(
      makeNode('two', {
        taints: [
          { key: 'spot', effect: 'PreferNoSchedule' },
          { key: 'old', effect: 'PreferNoSchedule' },
        ],
      }),
    ),
  ];
  const pod = makePod('p');
  const scores = nodes.map((n) => taintToleration.score(state, pod, n));
  assert.deepEqual(scores, [0, 1, 2]);
  taintToleration.normalizeScores(state, pod, scores);
  assert.deepEqual(scores, [100, 50, 0]);
  const tolerant = makePod('t', {
    spec: { tolerations: [{ key: 'spot', operator: 'Exists', effect: 'PreferNoSchedule' }] },
  });
  assert.equal(taintToleration.score(state, tolerant, nodes[2]), 1);
});

test('the hint names the toleration the pod lacks', () => {
  const snap = snapshotOf([controlPlane]);
  assert.match(
    taintToleration.hint(makePod('p'), snap.node('cp')!)!,
    /toleration \{key: node-role.kubernetes.io\/control-plane, operator: Exists, effect: NoSchedule\}/,
  );
});
