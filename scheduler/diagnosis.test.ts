import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../lib/kube/fake.ts';
import { Nodes, Pods } from '../lib/kube/resources.ts';
import { explainPod, formatDiagnosis, whyPending } from './diagnosis.ts';
import { makeNode, makePod, snapshotOf } from './testing/objects.ts';

const nodes = [
  makeNode('node-1', { cpu: '1' }),
  makeNode('node-2', { cpu: '2' }),
  makeNode('node-3', { cpu: '8', taints: [{ key: 'team', value: 'db', effect: 'NoSchedule' }] }),
  makeNode('node-4', { cpu: '8', labels: { disk: 'hdd' } }),
];
const placed = [makePod('busy', { cpu: '1800m', node: 'node-2' })];
const pod = makePod('p', { cpu: '1500m', spec: { nodeSelector: { disk: 'ssd' } } });

test('why-pending names the plugin per node and what would make the pod fit', () => {
  const d = explainPod(pod, { nodes, pods: placed });
  assert.equal(d.summary, '0/4 nodes fit the pod');
  assert.equal(
    d.message,
    "0/4 nodes are available: 1 node(s) had untolerated taint {team: db}, 3 node(s) didn't match Pod's node affinity/selector.",
  );
  const byNode = Object.fromEntries(d.nodes.map((v) => [v.node, v]));
  // NodeAffinity runs before NodeResourcesFit: the selector is what rejects node-1 and node-2
  assert.equal(byNode['node-1'].plugin, 'NodeAffinity');
  assert.equal(
    byNode['node-1'].hint,
    "the node lacks the label(s) disk=ssd of the pod's nodeSelector: kubectl label node node-1 disk=ssd",
  );
  assert.equal(
    byNode['node-4'].hint,
    "the node lacks the label(s) disk=ssd of the pod's nodeSelector (it has disk=hdd): kubectl label node node-4 disk=ssd",
  );
  assert.equal(byNode['node-3'].plugin, 'TaintToleration');
  assert.deepEqual(byNode['node-3'].reasons, ['node(s) had untolerated taint {team: db}']);
  assert.match(
    byNode['node-3'].hint!,
    /needs a toleration \{key: team, operator: Equal, value: db, effect: NoSchedule\}/,
  );
});

test('resources: how much is missing here and the largest free elsewhere', () => {
  const plain = makePod('q', { cpu: '1500m' });
  const d = explainPod(plain, snapshotOf(nodes.slice(0, 2), placed));
  assert.equal(d.message, '0/2 nodes are available: 2 Insufficient cpu.');
  const byNode = Object.fromEntries(d.nodes.map((v) => [v.node, v]));
  assert.equal(byNode['node-1'].hint, 'needs 1500m cpu, 1 free here; no node has more free');
  assert.equal(byNode['node-2'].hint, 'needs 1500m cpu, 200m free here; largest free is 1 on node-1');
  const text = formatDiagnosis(d);
  assert.match(
    text,
    /^pod default\/q: 0\/2 nodes fit the pod\n0\/2 nodes are available: 2 Insufficient cpu\.\n\nNODE\s+PLUGIN\s+REASON\s+WHAT WOULD MAKE IT FIT\n/,
  );
  assert.match(text, /\nnode-2\s+NodeResourcesFit\s+Insufficient cpu\s+needs 1500m cpu, 200m free here/);
});

test('a pod that fits somewhere is said to be about to be scheduled', () => {
  const d = explainPod(makePod('small', { cpu: '100m' }), { nodes, pods: placed });
  assert.equal(d.summary, '3/4 node(s) fit the pod now: it should be scheduled shortly');
  assert.equal(d.message, undefined);
});

test('whyPending reads the cluster through the API, and says when the pod is bound already', async () => {
  const client = new FakeClient();
  for (const n of nodes) client.seed(Nodes, n);
  for (const p of placed) client.seed(Pods, p);
  client.seed(Pods, {
    ...pod,
    status: {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: 'from the scheduler' }],
    },
  });
  client.seed(Pods, makePod('bound', { node: 'node-4' }));
  const text = await whyPending(client, 'default', 'p');
  assert.match(text, /^pod default\/p: 0\/4 nodes fit the pod\n/);
  assert.match(text, /node-3\s+TaintToleration/);
  assert.match(text, /\n\nthe scheduler said: from the scheduler$/);
  assert.equal(
    await whyPending(client, 'default', 'bound'),
    'pod default/bound is bound to node node-4: it is not waiting for the scheduler',
  );
});
