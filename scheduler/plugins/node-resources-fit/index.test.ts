import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CycleState } from '../../framework/types.ts';
import { podRequests } from '../../framework/resources.ts';
import { makeNode, makePod, nodeInfo, snapshotOf } from '../../testing/objects.ts';
import { nodeResourcesFit } from './index.ts';

const state = new CycleState();

test('Insufficient cpu is Unschedulable while other pods hold the room, unresolvable beyond the whole node', () => {
  const busy = nodeInfo(makeNode('n', { cpu: '2' }), [makePod('b', { cpu: '1500m', node: 'n' })]);
  assert.deepEqual(nodeResourcesFit.filter(state, makePod('p', { cpu: '1' }), busy), {
    code: 'Unschedulable',
    reasons: ['Insufficient cpu'],
  });
  assert.deepEqual(nodeResourcesFit.filter(state, makePod('p', { cpu: '3' }), busy), {
    code: 'UnschedulableAndUnresolvable',
    reasons: ['Insufficient cpu'],
  });
  assert.equal(nodeResourcesFit.filter(state, makePod('p', { cpu: '500m' }), busy).code, 'Success');
  const both = nodeResourcesFit.filter(state, makePod('p', { cpu: '1', memory: '64Gi' }), busy);
  assert.deepEqual(both.reasons, ['Insufficient cpu', 'Insufficient memory']);
});

test('the pods count is a resource: Too many pods', () => {
  const full = nodeInfo(makeNode('n', { pods: '1' }), [makePod('b', { node: 'n' })]);
  assert.deepEqual(nodeResourcesFit.filter(state, makePod('p'), full), {
    code: 'Unschedulable',
    reasons: ['Too many pods'],
  });
});

test('requests: the larger of the app containers and each init container (with the sidecars before it), plus overhead', () => {
  const pod = makePod('p', {
    spec: {
      containers: [
        { name: 'a', resources: { requests: { cpu: '200m', memory: '100Mi' } } },
        { name: 'b', resources: { requests: { cpu: '300m' } } },
      ],
      initContainers: [
        { name: 'sidecar', restartPolicy: 'Always', resources: { requests: { cpu: '100m' } } },
        { name: 'migrate', resources: { requests: { cpu: '1', memory: '50Mi' } } },
      ],
      overhead: { cpu: '10m', memory: '1Mi' },
    },
  });
  const r = podRequests(pod);
  // app 500m + sidecar 100m = 600m; init 1000m + sidecar 100m = 1100m; max 1100m, + 10m overhead
  assert.equal(r.cpu, 1110);
  assert.equal(r.memory, 101 * 2 ** 20);
});

test('LeastAllocated: the emptier node scores higher; missing requests count as 100m/200Mi', () => {
  const pod = makePod('p', { cpu: '100m', memory: '500Mi' });
  const empty = nodeInfo(makeNode('a'));
  // cpu (4000-100)/4000 = 97, memory (32768-500)/32768 = 98: (97+98)/2
  assert.equal(nodeResourcesFit.score(state, pod, empty), 97);
  const half = nodeInfo(makeNode('b'), [makePod('x', { cpu: '2', memory: '16Gi', node: 'b' })]);
  assert.equal(nodeResourcesFit.score(state, pod, half), 47); // cpu 47.5 -> 47, memory 48.5 -> 48
  // a pod without requests weighs 100m and 200Mi on the node it sits on
  const withBestEffort = nodeInfo(makeNode('c'), [makePod('y', { node: 'c' })]);
  assert.equal(nodeResourcesFit.score(state, pod, withBestEffort), 96);
});

test('the hint says how much is missing and where the most is free', () => {
  const snap = snapshotOf(
    [makeNode('node-1', { cpu: '1' }), makeNode('node-3', { cpu: '2' })],
    [makePod('b', { cpu: '800m', node: 'node-1' })],
  );
  const hint = nodeResourcesFit.hint(makePod('p', { cpu: '500m' }), snap.node('node-1')!, snap);
  assert.equal(hint, 'needs 500m cpu, 200m free here; largest free is 2 on node-3');
});
