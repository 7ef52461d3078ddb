import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CycleState } from '../../framework/types.ts';
import { makeNode, makePod, nodeInfo } from '../../testing/objects.ts';
import { nodePorts } from './index.ts';

const state = new CycleState();

test('NodePorts: a host port in use (on any address when 0.0.0.0) rejects the node', () => {
  assert.equal(nodePorts.preFilter(new CycleState(), makePod('none')).code, 'Skip');
  const withPort = (name: string, port: number, hostIP?: string, node?: string) =>
    makePod(name, {
      node,
      spec: {
        containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: port, ...(hostIP ? { hostIP } : {}) }] }],
      },
    });
  const n = nodeInfo(makeNode('n'), [withPort('a', 8080, '10.0.0.1', 'n')]);
  assert.deepEqual(nodePorts.filter(state, withPort('p', 8080), n), {
    code: 'Unschedulable',
    reasons: ["node(s) didn't have free ports for the requested pod ports"],
  });
  assert.equal(nodePorts.filter(state, withPort('p', 8080, '10.0.0.2'), n).code, 'Success');
  assert.equal(nodePorts.filter(state, withPort('p', 8080, '10.0.0.1'), n).code, 'Unschedulable');
  assert.equal(nodePorts.filter(state, withPort('p', 9090), n).code, 'Success');
});
