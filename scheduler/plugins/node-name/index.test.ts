import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CycleState } from '../../framework/types.ts';
import { makeNode, makePod, nodeInfo } from '../../testing/objects.ts';
import { nodeName } from './index.ts';

const state = new CycleState();

test('NodeName: a pod naming a node fits only there', () => {
  const pod = makePod('p', { spec: { nodeName: 'a' } });
  assert.equal(nodeName.filter(state, pod, nodeInfo(makeNode('a'))).code, 'Success');
  assert.deepEqual(nodeName.filter(state, pod, nodeInfo(makeNode('b'))).reasons, [
    "node(s) didn't match the requested node name",
  ]);
});
