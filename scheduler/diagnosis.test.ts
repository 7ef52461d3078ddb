import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchedulerCache } from './cache.ts';
import { explainPod, formatDiagnosis } from './diagnosis.ts';

test('why-pending names the plugin per node and what would make the pod fit', () => {
  const c = new SchedulerCache();
  const mk = (name: string, cpu: string, spec: any = {}) => ({ metadata: { name, labels: {} }, spec, status: { allocatable: { cpu, memory: '4Gi', pods: '110' } } });
  c.upsertNode(mk('node-1', '1'));
  c.upsertNode(mk('node-2', '2'));
  c.upsertNode(mk('node-3', '8', { taints: [{ key: 'team', value: 'db', effect: 'NoSchedule' }] }));
  c.upsertPod({ metadata: { name: 'busy', namespace: 'default' }, spec: { nodeName: 'node-2', containers: [{ name: 'c', resources: { requests: { cpu: '1800m' } } }] } });
  const pod = { metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', resources: { requests: { cpu: '1500m' } } }] } };
  const d = explainPod(pod, c);
  assert.equal(d.summary, '0/3 nodes fit the pod');
  const byNode = Object.fromEntries(d.nodes.map((v) => [v.node, v]));
  assert.equal(byNode['node-1'].plugin, 'NodeResourcesFit');
  assert.equal(byNode['node-1'].hint, 'needs 1500m cpu, 1 free here; largest free is 8 on node-3');
  assert.equal(byNode['node-2'].hint, 'needs 1500m cpu, 200m free here; largest free is 8 on node-3');
  assert.equal(byNode['node-3'].plugin, 'TaintToleration');
  assert.deepEqual(byNode['node-3'].reasons, ['node(s) had untolerated taint {team: db}']);
  assert.match(byNode['node-3'].hint!, /toleration \{key: team, operator: Equal, value: db, effect: NoSchedule\}/);
  const text = formatDiagnosis(d);
  assert.match(text, /^pod default\/p: 0\/3 nodes fit the pod/);
  assert.match(text, /node-2\s+NodeResourcesFit\s+Insufficient cpu\s+needs 1500m cpu/);
});
