import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CycleState } from '../../framework/types.ts';
import { makeNode, makePod, nodeInfo } from '../../testing/objects.ts';
import { balancedAllocation } from './index.ts';

test('BalancedAllocation prefers the node where cpu and memory end up used in equal shares', () => {
  const state = new CycleState();
  const pod = makePod('p', { cpu: '1', memory: '8Gi' });
  // cpu 1/4 = 0.25, memory 8/32 = 0.25: perfectly balanced
  assert.equal(balancedAllocation.score(state, pod, nodeInfo(makeNode('a'))), 100);
  // cpu 3/4 = 0.75, memory 8/32 = 0.25: std 0.25
  const cpuHeavy = nodeInfo(makeNode('b'), [makePod('x', { cpu: '2', node: 'b' })]);
  assert.equal(balancedAllocation.score(state, pod, cpuHeavy), 75);
});
