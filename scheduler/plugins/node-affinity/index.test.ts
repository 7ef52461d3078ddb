import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CycleState } from '../../framework/types.ts';
import { makeNode, makePod, nodeInfo } from '../../testing/objects.ts';
import { nodeAffinity } from './index.ts';

const state = new CycleState();
const ssd = nodeInfo(makeNode('ssd', { labels: { disk: 'ssd', zone: 'a' } }));
const hdd = nodeInfo(makeNode('hdd', { labels: { disk: 'hdd', zone: 'b' } }));
const required = (exprs: unknown[]) => ({
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: exprs }] },
    },
  },
});

test('nodeSelector and required node affinity filter with the upstream message', () => {
  const sel = makePod('p', { spec: { nodeSelector: { disk: 'ssd' } } });
  assert.equal(nodeAffinity.filter(state, sel, ssd).code, 'Success');
  assert.deepEqual(nodeAffinity.filter(state, sel, hdd), {
    code: 'UnschedulableAndUnresolvable',
    reasons: ["node(s) didn't match Pod's node affinity/selector"],
  });
  const notIn = makePod('p', { spec: required([{ key: 'zone', operator: 'NotIn', values: ['a'] }]) });
  assert.equal(nodeAffinity.filter(state, notIn, ssd).code, 'UnschedulableAndUnresolvable');
  assert.equal(nodeAffinity.filter(state, notIn, hdd).code, 'Success');
  assert.equal(nodeAffinity.preFilter(state, makePod('plain')).code, 'Skip');
});

test('Gt and Lt compare labels as 64-bit integers; a label that is not one does not match', () => {
  const gt = makePod('p', { spec: required([{ key: 'cores', operator: 'Gt', values: ['8'] }]) });
  const cores = (v: string) => nodeInfo(makeNode(`n-${v}`, { labels: { cores: v } }));
  assert.equal(nodeAffinity.filter(state, gt, cores('16')).code, 'Success');
  assert.equal(nodeAffinity.filter(state, gt, cores('4')).code, 'UnschedulableAndUnresolvable');
  assert.equal(nodeAffinity.filter(state, gt, cores('16cores')).code, 'UnschedulableAndUnresolvable');
  const big = makePod('p', { spec: required([{ key: 'cores', operator: 'Gt', values: ['9007199254740992'] }]) });
  assert.equal(nodeAffinity.filter(state, big, cores('9007199254740993')).code, 'Success');
});

test('a required term on metadata.name narrows the nodes at PreFilter (DaemonSet pods)', () => {
  const pod = makePod('ds', {
    spec: {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['hdd'] }] }],
          },
        },
      },
    },
  });
  const s = nodeAffinity.preFilter(state, pod);
  assert.deepEqual([...s.nodeNames!], ['hdd']);
  assert.equal(nodeAffinity.filter(state, pod, ssd).code, 'UnschedulableAndUnresolvable');
});

test('preferred node affinity scores by the weights of the matching terms', () => {
  const pod = makePod('p', {
    spec: {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 80, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } },
            { weight: 20, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] } },
          ],
        },
      },
    },
  });
  const scores = [nodeAffinity.score(state, pod, ssd), nodeAffinity.score(state, pod, hdd)];
  assert.deepEqual(scores, [80, 20]);
  nodeAffinity.normalizeScores(state, pod, scores);
  assert.deepEqual(scores, [100, 25]);
});

test('the hint names the missing labels', () => {
  const sel = makePod('p', { spec: { nodeSelector: { disk: 'ssd' } } });
  assert.equal(
    nodeAffinity.hint(sel, hdd),
    "the node lacks the label(s) disk=ssd of the pod's nodeSelector (it has disk=hdd): kubectl label node hdd disk=ssd",
  );
  const aff = makePod('p', { spec: required([{ key: 'gpu', operator: 'Exists' }]) });
  assert.equal(
    nodeAffinity.hint(aff, hdd),
    "the node matches none of the pod's required node affinity terms (term 1: gpu Exists (no such label))",
  );
});
