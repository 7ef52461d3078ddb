import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CycleState } from '../../framework/types.ts';
import { makeNode, makePod, nodeInfo } from '../../testing/objects.ts';
import { nodeUnschedulable } from './index.ts';

const state = new CycleState();

test('a cordoned node takes only pods tolerating node.kubernetes.io/unschedulable', () => {
  const cordoned = nodeInfo(makeNode('n', { unschedulable: true }));
  assert.deepEqual(nodeUnschedulable.filter(state, makePod('p'), cordoned), {
    code: 'UnschedulableAndUnresolvable',
    reasons: ['node(s) were unschedulable'],
  });
  const tolerant = makePod('p', {
    spec: { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] },
  });
  assert.equal(nodeUnschedulable.filter(state, tolerant, cordoned).code, 'Success');
  assert.equal(nodeUnschedulable.filter(state, makePod('p'), nodeInfo(makeNode('m'))).code, 'Success');
});
